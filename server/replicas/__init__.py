"""Read replicas: which reads may go to them, and how far behind each one is (router.py)."""
