"""The browser verifier offered for download by the township (not by the village it checks)."""
