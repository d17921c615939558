"""The LoRa-E5's ``AT+JOIN`` reply parser (`trapfw.atmodem_e5.LoraE5.join`): imported by the
first join only, since a modem that keeps its session (nearly always) never joins.

``+JOIN: Start``, ``NORMAL``/``FORCE``, ``NetID ...``, ``Network joined``, then ``Done``;
``Joined already`` when the modem holds a session; ``Join failed`` ... ``Done`` otherwise.
"""

from trapfw import atmodem as at


def handler(drv):
    """The step handler of ``AT+JOIN`` for driver ``drv``."""
    return lambda line: _join_line(drv, line)


def _join_line(drv, line):
    value, fail = drv._reply("JOIN", line)
    if fail is not None:
        return fail
    if value == "Start":
        drv._info["started"] = True
        return at.WAIT
    if value in ("NORMAL", "FORCE") or value.startswith("NetID"):
        return at.WAIT
    if value == "Network joined":
        drv._info["joined"] = True
        return at.WAIT
    if value == "Joined already":
        drv._info["joined"] = True
        return at.DONE
    if value == "Join failed":
        drv._info["joined"] = False
        return at.WAIT
    if value == "Done":
        if not drv._info.get("started"):
            return at.WAIT  # a late "Done" of an earlier JOIN, not this one's
        return at.DONE if drv._info.get("joined") else at.JOIN_FAILED
    return at.UNKNOWN_REPLY
