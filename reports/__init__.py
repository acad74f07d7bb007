"""Manager reports (DOMAIN "Reports"): figures defined once as database aggregations."""
