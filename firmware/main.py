__import__("trapfw.hal").hal.main()  # the firmware lives in trapfw/ (see docs/firmware.md)
