"""Demo and benchmark data, built through the steps' services (`manage.py seed_demo`)."""
