"""Pure domain math: no Django, no I/O. Plain data in, plain data out."""
