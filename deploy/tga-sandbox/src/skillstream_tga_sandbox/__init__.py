"""A local TGA TrainingComponentService sandbox (see README.md)."""
