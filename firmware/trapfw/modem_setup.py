"""The modems' one-time OTAA setup commands (LoRa-E5 and RAK3172), loaded for the setup only.

The setup goes out once after the settings change (``trapfw.radio`` keeps the settings hash),
so the drivers import this module for that call and the MCU unloads it again. Keys are
validated here and never logged (the driver core redacts them).
"""

E5_REGIONS = ("EU868", "US915", "AU915", "AS923", "IN865", "KR920", "RU864", "CN470")
SUBBAND_REGIONS = ("US915", "AU915")  # 64 + 8 uplink channels; gateways listen on 8 of them
RAK_BANDS = {
    "CN470": 1,
    "RU864": 2,
    "IN865": 3,
    "EU868": 4,
    "US915": 5,
    "AU915": 6,
    "KR920": 7,
    "AS923": 8,
}  # RUI3 AT+BAND numbers (AS923 = AS923-1)


def hex_of(value, nbytes, what):
    text = value.replace(":", "").replace(" ", "").upper()
    if len(text) != 2 * nbytes or any(c not in "0123456789ABCDEF" for c in text):
        raise ValueError(f"{what} must be {nbytes} bytes of hex")
    return text


def hex_id(value):
    """An EUI as ``00:11:22:33:44:55:66:77`` (validated)."""
    text = hex_of(value, 8, "EUI")
    return ":".join(text[i : i + 2] for i in range(0, 16, 2))


def hex_key(value):
    return hex_of(value, 16, "AppKey")


def e5_setup(region, dev_eui, app_eui, app_key, dr=None, adr=None, subband=2):
    """[(command, reply name)] for the LoRa-E5 (Seeed AT spec; ``AT+CH=NUM,8-15`` = FSB2)."""
    if region not in E5_REGIONS:
        raise ValueError(f"lora-e5: unknown region {region!r}")
    cmds = [("AT+MODE=LWOTAA", "MODE"), ("AT+DR=" + region, "DR")]  # the band resets channels
    if subband is not None and region in SUBBAND_REGIONS:
        lo = 8 * (subband - 1)
        cmds.append((f"AT+CH=NUM,{lo}-{lo + 7}", "CH"))
    if dr is not None:
        cmds.append((f"AT+DR={dr}", "DR"))
    if adr is not None:
        cmds.append(("AT+ADR=" + ("ON" if adr else "OFF"), "ADR"))
    return cmds + [  # noqa: RUF005 (MicroPython has no * in lists)
        (f'AT+ID=DevEui,"{hex_id(dev_eui)}"', "ID"),
        (f'AT+ID=AppEui,"{hex_id(app_eui)}"', "ID"),
        (f'AT+KEY=APPKEY,"{hex_key(app_key)}"', "KEY"),
        ("AT+CLASS=A", "CLASS"),
    ]


def rak_setup(region, dev_eui, app_eui, app_key, dr=None, adr=None, subband=2):
    """[command] for the RAK3172 (RUI3 manual; ``AT+MASK=0002`` = sub-band 2)."""
    if region not in RAK_BANDS:
        raise ValueError(f"rak3172: unknown region {region!r}")
    cmds = ["AT+NJM=1", f"AT+BAND={RAK_BANDS[region]}"]
    if subband is not None and region in SUBBAND_REGIONS:
        cmds.append("AT+MASK=%04X" % (1 << (subband - 1)))
    if dr is not None:
        cmds.append(f"AT+DR={dr}")
    if adr is not None:
        cmds.append("AT+ADR=" + ("1" if adr else "0"))
    return cmds + [  # noqa: RUF005 (MicroPython has no * in lists)
        "AT+DEVEUI=" + hex_id(dev_eui).replace(":", ""),
        "AT+APPEUI=" + hex_id(app_eui).replace(":", ""),
        "AT+APPKEY=" + hex_key(app_key),
        "AT+CLASS=A",
    ]
