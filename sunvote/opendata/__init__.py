"""The open data API: read-only public JSON with its OpenAPI document."""
