"""The api function's routes: one Powertools Router per resource, wired together by app.py."""
