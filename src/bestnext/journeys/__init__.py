"""Journeys: YAML-defined customer journeys run by the last processor of the pipeline."""
