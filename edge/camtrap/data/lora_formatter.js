// camtrap LoRaWAN uplink payload formatter (ECMAScript 5.1).
//
// One file for both network servers; paste it unchanged:
//   The Things Stack v3: Application or end device > Payload formatters > Uplink >
//     "Custom Javascript formatter". Returns {data, warnings, errors}.
//   ChirpStack v4: Device profile > Codec > "JavaScript functions". Uses {data}; a ChirpStack
//     device variable "device_id" adds device_id and event_id to the data.
//
// Mirrors firmware/trapfw/payload.py (the reference; see docs/lora.md for the byte layout).
// Field names are those of camtrap's MQTT hit JSON. A wrong length, an unknown version or
// FPort, or an out-of-range field gives an error naming why, never wrong numbers.

var CAMTRAP_FPORT_HIT = 10;
var CAMTRAP_FPORT_HEARTBEAT = 11;
var CAMTRAP_VERSION = 1;
var CAMTRAP_HEARTBEAT_VERSION = 2; // byte 0's high nibble: status flags
var CAMTRAP_LENGTH = 11;
var CAMTRAP_CLASSES = [
  "other", "leopard", "tiger", "small_spotted_cat", "domestic_cat", "deer", "boar",
  "person", "empty", "bear", "dog", "bird", "vehicle"
];

function camtrapFail(message) {
  var e = new Error(message);
  e.camtrap = true;
  throw e;
}

function camtrapCheck(kind, bytes) {
  if (!bytes || bytes.length < 1) {
    camtrapFail(kind + " payload is empty");
  }
  if (bytes[0] !== CAMTRAP_VERSION) {
    camtrapFail(kind + " payload version " + bytes[0] + " is not supported (want 1)");
  }
  camtrapCheckBytes(kind, bytes, 1);
}

// The heartbeat's version: exactly 1 (older firmware), or 2 in the low nibble with the status
// flags in the high one. Returns the version.
function camtrapHeartbeatVersion(bytes) {
  if (!bytes || bytes.length < 1) {
    camtrapFail("heartbeat payload is empty");
  }
  var version = bytes[0] === CAMTRAP_VERSION ? CAMTRAP_VERSION : bytes[0] & 15;
  if (version !== CAMTRAP_HEARTBEAT_VERSION && bytes[0] !== CAMTRAP_VERSION) {
    camtrapFail("heartbeat payload version " + bytes[0] +
      " is not supported (want 1, or 2 with flags)");
  }
  camtrapCheckBytes("heartbeat", bytes, version);
  return version;
}

function camtrapCheckBytes(kind, bytes, version) {
  if (bytes.length !== CAMTRAP_LENGTH) {
    camtrapFail(kind + " payload v" + version + " must be " + CAMTRAP_LENGTH + " bytes, got " +
      bytes.length);
  }
  for (var i = 0; i < bytes.length; i++) {
    var b = bytes[i];
    if (typeof b !== "number" || b < 0 || b > 255 || Math.floor(b) !== b) {
      camtrapFail(kind + " payload byte " + i + " is not 0..255");
    }
  }
}

function camtrapUint24(bytes, at) {
  return bytes[at] * 65536 + bytes[at + 1] * 256 + bytes[at + 2];
}

function camtrapBattery(q) {
  return q === 255 ? null : 2000 + 20 * q;
}

function camtrapLabel(code, warnings) {
  if (code < CAMTRAP_CLASSES.length) {
    return CAMTRAP_CLASSES[code];
  }
  warnings.push("class code " + code + " is not in this formatter's table");
  return null;
}

function camtrapPad(n, width) {
  var s = String(n);
  while (s.length < width) {
    s = "0" + s;
  }
  return s;
}

function camtrapIso(seconds) {
  var d = new Date(seconds * 1000);
  return camtrapPad(d.getUTCFullYear(), 4) + "-" + camtrapPad(d.getUTCMonth() + 1, 2) + "-" +
    camtrapPad(d.getUTCDate(), 2) + "T" + camtrapPad(d.getUTCHours(), 2) + ":" +
    camtrapPad(d.getUTCMinutes(), 2) + ":" + camtrapPad(d.getUTCSeconds(), 2) + "Z";
}

function camtrapRecvSeconds(recvTime) {
  if (recvTime === undefined || recvTime === null) {
    return null;
  }
  var ms = recvTime instanceof Date ? recvTime.getTime() : Date.parse(String(recvTime));
  return isNaN(ms) ? null : Math.floor(ms / 1000);
}

function camtrapDecodeHit(bytes, warnings) {
  camtrapCheck("hit", bytes);
  var code = bytes[4], q = bytes[5], agreeing = bytes[6], classified = bytes[7];
  var ageWord = bytes[9] * 256 + bytes[10];
  if (q > 200) {
    camtrapFail("hit score byte " + q + " is out of range 0..200");
  }
  if (code === 255) {
    camtrapFail("hit class code 255 is not a class");
  }
  if (agreeing > classified) {
    camtrapFail("hit frames_agreeing " + agreeing + " > frames_classified " + classified);
  }
  return {
    v: CAMTRAP_VERSION,
    type: "hit",
    event_seq: camtrapUint24(bytes, 1),
    class_code: code,
    label: camtrapLabel(code, warnings),
    score: q / 200,
    frames_agreeing: agreeing,
    frames_classified: classified,
    battery_mv: camtrapBattery(bytes[8]),
    age_s: ageWord === 65535 ? null : ageWord >= 32768 ? (ageWord - 32768) * 60 : ageWord
  };
}

function camtrapDecodeHeartbeat(bytes, warnings) {
  var version = camtrapHeartbeatVersion(bytes);
  var hits = bytes[7], unsent = bytes[8], cls = bytes[9], temp = bytes[10];
  if (unsent > hits) {
    camtrapFail("heartbeat hits_unsent " + unsent + " > hits " + hits);
  }
  temp = temp >= 128 ? temp - 256 : temp;
  var out = {
    v: version,
    type: "heartbeat",
    battery_mv: camtrapBattery(bytes[1]),
    last_event_seq: camtrapUint24(bytes, 2),
    triggers: bytes[5] * 256 + bytes[6],
    hits: hits,
    hits_unsent: unsent,
    unsent_class_code: cls === 255 ? null : cls,
    unsent_label: cls === 255 ? null : camtrapLabel(cls, warnings),
    temp_c: temp === -128 ? null : temp
  };
  if (version === CAMTRAP_HEARTBEAT_VERSION) { // v1 has no status fields
    var flags = bytes[0] >> 4;
    out.storage_fault = (flags & 1) !== 0;
    out.clock_unset = (flags & 2) !== 0;
    out.low_battery = (flags & 4) !== 0;
    if (out.storage_fault) {
      warnings.push("storage fault: the Pi's disk is full, read-only or failing");
    }
  }
  return out;
}

function camtrapDecode(input, warnings) {
  var bytes = input.bytes;
  if (input.fPort === CAMTRAP_FPORT_HIT) {
    var hit = camtrapDecodeHit(bytes, warnings);
    var recv = camtrapRecvSeconds(input.recvTime);
    if (recv !== null) {
      hit.time = camtrapIso(recv - (hit.age_s === null ? 0 : hit.age_s));
    }
    if (hit.age_s === null) {
      warnings.push("age unknown (the trap's clock was not set): time is the receive time");
    }
    var vars = input.variables;
    if (vars && typeof vars.device_id === "string" && vars.device_id !== "") {
      hit.device_id = vars.device_id;
      hit.event_id = vars.device_id + "-" + hit.event_seq;
    }
    return hit;
  }
  if (input.fPort === CAMTRAP_FPORT_HEARTBEAT) {
    return camtrapDecodeHeartbeat(bytes, warnings);
  }
  camtrapFail("unknown FPort " + input.fPort + " (hit is " + CAMTRAP_FPORT_HIT +
    ", heartbeat is " + CAMTRAP_FPORT_HEARTBEAT + ")");
}

function decodeUplink(input) {
  var warnings = [];
  try {
    return { data: camtrapDecode(input, warnings), warnings: warnings, errors: [] };
  } catch (e) {
    if (!e.camtrap) {
      throw e;
    }
    // The Things Stack fails the uplink on errors; ChirpStack shows data.error.
    return { data: { error: e.message }, warnings: warnings, errors: [e.message] };
  }
}
