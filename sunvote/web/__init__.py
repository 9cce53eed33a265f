"""The clerks' and officials' pages: village dashboard, matters, steps, suggestions."""
