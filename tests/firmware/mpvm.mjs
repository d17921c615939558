// Run Python code in the real MicroPython VM (the official WebAssembly port) under node.
//   node mpvm.mjs DIR... < code.py
// Every DIR is copied into the VM's /lib (.py and .mpy files; so `trapfw/`, test modules, fakes
// then the code on stdin runs. Exit status 1 on an uncaught Python exception, 0 otherwise.
import fs from "fs";
import path from "path";
import { createRequire } from "module";

const require = createRequire(import.meta.url);
const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), "..", "..");
const pkg = process.env.MPVM_PACKAGE ||
  path.join(root, "node_modules/@micropython/micropython-webassembly-pyscript/micropython.mjs");
const { loadMicroPython } = await import(pkg);

const heapsize = parseInt(process.env.MPVM_HEAP || "1048576", 10);
const mp = await loadMicroPython({
  heapsize,
  stdout: (line) => process.stdout.write(line + "\n"),
  stderr: (line) => process.stderr.write(line + "\n"),
});

function mkdirs(p) {
  let cur = "";
  for (const part of p.split("/").filter(Boolean)) {
    cur += "/" + part;
    try { mp.FS.mkdir(cur); } catch (e) { /* exists */ }
  }
}

function copyTree(src, dst) {
  mkdirs(dst);
  for (const name of fs.readdirSync(src)) {
    const s = path.join(src, name);
    if (fs.statSync(s).isDirectory()) {
      if (name !== "__pycache__") copyTree(s, dst + "/" + name);
    } else if (name.endsWith(".py") || name.endsWith(".mpy")) {
      mp.FS.writeFile(dst + "/" + name, fs.readFileSync(s));
    }
  }
}

for (const dir of process.argv.slice(2)) copyTree(dir, "/lib");
// MPVM_FS_IN: a host dir whose files become the VM's root files (a board's flash, carried
// from one VM run to the next); MPVM_FS_OUT: where the VM's root files are written back after
// the run, whatever way it ended (a deep sleep ends the run like a reset ends the chip's).
const fsIn = process.env.MPVM_FS_IN, fsOut = process.env.MPVM_FS_OUT;
if (fsIn) {
  for (const name of fs.readdirSync(fsIn)) {
    const s = path.join(fsIn, name);
    if (fs.statSync(s).isFile()) mp.FS.writeFile("/" + name, fs.readFileSync(s));
  }
}
function dumpRoot() {
  if (!fsOut) return;
  fs.mkdirSync(fsOut, { recursive: true });
  for (const name of mp.FS.readdir("/")) {
    if (name === "." || name === "..") continue;
    const st = mp.FS.stat("/" + name);
    if (mp.FS.isFile(st.mode)) fs.writeFileSync(path.join(fsOut, name), mp.FS.readFile("/" + name));
  }
}
// A line "#---" splits the code into chunks, each run by its own runPython call. Inside one
// call this port's gc.collect() cannot reclaim garbage (the C stack is scanned conservatively),
// so a heap measurement must collect in a call of its own.
const chunks = fs.readFileSync(0, "utf8").split(/^#---.*$/m);
try {
  for (const chunk of chunks) mp.runPython(chunk);
} catch (error) {
  if (error.name !== "PythonError") throw error;
  process.stderr.write(error.message + "\n");
  dumpRoot();
  process.exit(1);
}
dumpRoot();
