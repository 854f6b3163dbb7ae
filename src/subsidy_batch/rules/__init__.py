"""The county rules: strict config loading, conditions as data, the engine, facility rules."""
