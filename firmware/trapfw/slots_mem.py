"""State slots in memory, for tests and the heap benchmark (a board uses NVS or files)."""


class MemSlots:
    """In-memory slots for tests; ``tear(i)`` corrupts a slot like a brown-out mid-write."""

    def __init__(self, count=4):
        self.count = count
        self.data: list = [None] * count

    def read(self, i):
        return self.data[i]

    def write(self, i, data):
        self.data[i] = bytes(data)

    def tear(self, i):
        if self.data[i]:
            half = len(self.data[i]) // 2
            self.data[i] = self.data[i][:half] + b"\xff" * (len(self.data[i]) - half)
