__import__("trapfw.startup").startup.boot()  # the Pi power switch off first; safe-mode window
__import__("trapfw").unload("startup")
