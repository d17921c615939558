__import__("trapfw.hal").hal.boot()  # hold the Pi power switch off from the first moment
