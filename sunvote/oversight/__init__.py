"""Township and district oversight: the dashboard, its warnings, charts and exports."""
