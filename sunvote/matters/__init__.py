"""The clerks' and officials' matter pages: where a login lands, the village dashboard, matters
and their steps, suggestions, files."""
