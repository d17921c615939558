__import__("trapfw.startup").startup.boot()  # the Pi power switch off first; safe-mode window
__import__("trapfw").unload("startup")
__import__("trapfw").unload("pins")  # main.py loads its own board's pins, then drops them
