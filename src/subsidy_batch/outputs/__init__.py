"""What a run writes: Parquet outputs in their contract layouts, and bank files."""
