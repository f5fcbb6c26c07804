"""Data: a :class:`Task` per chapter, built from the real dataset or a stand-in generator."""
from mke.data.task import Task  # noqa: F401
