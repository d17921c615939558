"""LoRaWAN regional parameters of every region camtrap supports, as plain tables.

Data only: ``trapfw.airtime.region(name)`` turns one row into a ``Region`` (the MCU then drops
this module, so only its own region stays in RAM). Sources: RP002-1.0.x, cross-checked with
Semtech LoRaMac-node ``Region*.h``.

``TABLE[name] = (data_rates, payloads, subbands, channels_hz, dwell_ms, payloads_dwell, notes)``:
``data_rates[dr]`` is ``(sf, bw_khz)`` or None (FSK or reserved); ``payloads[dr]`` the maximum
application payload (no repeater, 0: unusable); ``subbands`` rows of ``(name, lo_hz, hi_hz,
duty)``; ``channels_hz`` the default uplink channels; ``dwell_ms`` the uplink dwell-time limit
and ``payloads_dwell`` the payloads with it on (None: no limit).
"""

_EU_DRS = ((12, 125), (11, 125), (10, 125), (9, 125), (8, 125), (7, 125), (7, 250), None)
_EU_PAYLOADS = (51, 51, 51, 115, 242, 242, 242, 242)
_125_DRS = ((12, 125), (11, 125), (10, 125), (9, 125), (8, 125), (7, 125))
_125_PAYLOADS = (51, 51, 51, 115, 242, 242)

TABLE = {
    "EU868": (
        _EU_DRS,
        _EU_PAYLOADS,
        (
            ("h1.3 863-865", 863_000_000, 865_000_000, 0.001),
            ("h1.4 865-868", 865_000_000, 868_000_000, 0.01),
            ("g1 868.0-868.6", 868_000_001, 868_600_000, 0.01),
            ("g2 868.7-869.2", 868_700_000, 869_200_000, 0.001),
            ("g3 869.4-869.65", 869_400_000, 869_650_000, 0.1),
            ("g4 869.7-870.0", 869_700_000, 870_000_000, 0.01),
        ),
        (868_100_000, 868_300_000, 868_500_000),
        None,
        None,
        "ETSI EN 300 220 duty cycle per sub-band; default channels in g1 (1 %)",
    ),
    "US915": (
        ((10, 125), (9, 125), (8, 125), (7, 125), (8, 500)),
        (11, 53, 125, 242, 242),
        (("902-928", 902_000_000, 928_000_000, 1.0),),
        (902_300_000,),
        400,
        None,
        "FCC: no duty cycle, 400 ms dwell time per channel; DR0 carries 11 bytes",
    ),
    "AU915": (
        ((12, 125), (11, 125), (10, 125), (9, 125), (8, 125), (7, 125), (8, 500)),
        (51, 51, 51, 115, 242, 242, 242),
        (("915-928", 915_000_000, 928_000_000, 1.0),),
        (916_800_000,),  # FSB2 (channels 8-15), the sub-band TTN's AU915 gateways listen on
        400,
        (0, 0, 11, 53, 125, 242, 242),
        "ACMA: no duty cycle; uplink dwell time on by default (LoRaMac-node RegionAU915.h): "
        "DR0/DR1 unusable, DR2 (SF10) carries 11 bytes; 8-channel gateways: set the sub-band",
    ),
    "AS923": (
        _EU_DRS,
        _EU_PAYLOADS,
        (("915-928", 915_000_000, 928_000_000, 0.01),),
        (923_200_000, 923_400_000),
        400,
        (0, 0, 11, 53, 125, 242, 242, 242),
        "dwell time on by default: DR0/DR1 unusable, DR2 (SF10) carries 11 bytes; "
        "1 % duty cycle (LoRaMac-node); Japan also needs listen-before-talk",
    ),
    "IN865": (
        _EU_DRS,
        (51, 51, 51, 115, 242, 242, 0, 242),  # DR6 is reserved in RP002
        (("865-867", 865_000_000, 867_000_000, 1.0),),
        (865_062_500, 865_402_500, 865_985_000),
        None,
        None,
        "no duty cycle and no dwell-time limit; DR6 is reserved (treated as unusable)",
    ),
    "KR920": (
        _125_DRS,
        _125_PAYLOADS,
        (("920.9-923.3", 920_900_000, 923_300_000, 1.0),),
        (922_100_000, 922_300_000, 922_500_000),
        None,
        None,
        "no duty cycle; listen-before-talk is mandatory (the modem does it)",
    ),
    "RU864": (
        _EU_DRS,
        _EU_PAYLOADS,
        (("864-870", 864_000_000, 870_000_000, 0.01),),
        (868_900_000, 869_100_000),
        None,
        None,
        "EU-like plan; 1 % as in RP002 (default channels) and LoRaMac-node RegionRU864.h",
    ),
    "CN470": (
        _125_DRS,
        (51, 51, 51, 115, 242, 242),
        (("470-510", 470_000_000, 510_000_000, 1.0),),
        (470_300_000,),
        None,
        None,
        "no duty cycle or dwell limit in RP002; 96 uplink channels",
    ),
}
