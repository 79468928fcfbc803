"""The schema's steps, as SQL files (desk/store/pg/migrate.py applies them)."""
