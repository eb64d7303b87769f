"""salesloop (销售闭环): self-hosted sales performance tracking and target setting."""

__version__ = "0.1.0"
