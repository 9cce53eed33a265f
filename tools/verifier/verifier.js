// The browser verifier's page (docs/browser-verifier.md). It reads files, keeps the checkpoints
// this device has seen (localStorage) and shows results; every check is made by SunVote's own
// Python code (sunvote/verify_browser.py) running under Pyodide, all embedded in this file.
'use strict';
(function () {
  const MEMORY_KEY = 'sunvote-verifier/v1';
  const EMBEDDED = 'https://embedded.invalid/pyodide/';
  const $ = (id) => document.getElementById(id);
  let vb = null; // the Python module's functions, once loaded

  // ------------------------------------------------------------------ embedded files
  function base64Bytes(text) {
    const raw = atob(text.trim());
    const out = new Uint8Array(raw.length);
    for (let i = 0; i < raw.length; i++) out[i] = raw.charCodeAt(i);
    return out;
  }
  async function embedded(name) {
    const node = document.getElementById('blob:' + name);
    if (!node) throw new Error('missing embedded file ' + name);
    const zipped = new Blob([base64Bytes(node.textContent)]);
    const stream = zipped.stream().pipeThrough(new DecompressionStream('gzip'));
    return new Uint8Array(await new Response(stream).arrayBuffer());
  }
  function loadScript(bytes) {
    return new Promise((resolve, reject) => {
      const url = URL.createObjectURL(new Blob([bytes], { type: 'text/javascript' }));
      const script = document.createElement('script');
      script.src = url;
      script.onload = () => resolve();
      script.onerror = () => reject(new Error('script failed to load'));
      document.head.appendChild(script);
    });
  }

  // Pyodide fetches its wasm and standard library by URL: answer from this file, and refuse
  // everything else (the Content-Security-Policy refuses any network request too).
  function installFetch(files) {
    const original = globalThis.fetch;
    globalThis.fetch = async function (resource, init) {
      const url = typeof resource === 'string' ? resource : (resource.url || String(resource));
      if (url.startsWith(EMBEDDED)) {
        const name = url.slice(EMBEDDED.length).split(/[?#]/)[0];
        if (files[name]) {
          const type = name.endsWith('.wasm') ? 'application/wasm' : 'application/octet-stream';
          return new Response(files[name], { headers: { 'Content-Type': type } });
        }
      }
      if (url.startsWith('blob:') || url.startsWith('data:')) return original(resource, init);
      throw new Error('this page makes no network request: ' + url);
    };
  }

  const BOOT = `
import sys, json, zoneinfo
zoneinfo.reset_tzpath(["/zoneinfo"])
sys.path.insert(0, "/sunvote.zip")
from pyodide.ffi import to_js
import js
import sunvote.verify_browser as vb
vb.install_backend(js.sunvoteCrypto, lambda b: to_js(b))
import zipfile
with zipfile.ZipFile("/sunvote.zip") as z:
    vb.load_catalog(z.read("sunvote/verify_browser.en.json").decode("utf-8"))
def export(data, keys, witness, seen):
    return vb.verify_export_zip(data.to_bytes(), keys, witness, seen)
def receipt(data, key, witness, seen, ballot):
    return vb.verify_receipt_file(data.to_bytes(), key, witness, seen, ballot)
def consistency(old, new, proof, key):
    return vb.check_consistency(old, new, proof, key)
def vectors(vectors_json):
    return vb.signature_verdicts(vectors_json)
`;

  async function boot() {
    const started = performance.now();
    const [noble, loader, asm, wasm, stdlib, lock, sources] = await Promise.all([
      embedded('crypto.js'), embedded('pyodide.js'), embedded('pyodide.asm.mjs'),
      embedded('pyodide.asm.wasm'), embedded('python_stdlib.zip'),
      embedded('pyodide-lock.json'), embedded('sunvote.zip')]);
    const phases = { unpacked: performance.now() - started };
    await loadScript(noble);
    await loadScript(loader);
    installFetch({ 'pyodide.asm.wasm': wasm, 'python_stdlib.zip': stdlib });
    const asmUrl = URL.createObjectURL(new Blob([asm], { type: 'text/javascript' }));
    const module = await import(asmUrl);
    const pyodide = await globalThis.loadPyodide({
      indexURL: EMBEDDED,
      createPyodideModule: module.default,
      lockFileContents: JSON.parse(new TextDecoder().decode(lock)),
      stdout: () => {}, stderr: (line) => console.warn(line),
    });
    phases.pyodide = performance.now() - started;
    pyodide.FS.writeFile('/sunvote.zip', sources);
    // The tz database's only zone the rules read (China time), from the pinned tzdata wheel.
    pyodide.FS.mkdirTree('/zoneinfo/Asia');
    pyodide.FS.writeFile('/zoneinfo/Asia/Shanghai', await embedded('zoneinfo/Asia/Shanghai'));
    pyodide.runPython(BOOT);
    vb = {
      export: pyodide.globals.get('export'),
      receipt: pyodide.globals.get('receipt'),
      consistency: pyodide.globals.get('consistency'),
      vectors: pyodide.globals.get('vectors'),
    };
    // For tests and the curious: the signature checks' verdicts on given vectors.
    phases.python = performance.now() - started;
    window.sunvoteVerifier = { ready: true, bootMs: performance.now() - started, phases: phases,
      signatureVerdicts: (json) => JSON.parse(vb.vectors(json)) };
  }

  // ------------------------------------------------------------------ memory (localStorage)
  function memory() {
    try {
      const value = JSON.parse(localStorage.getItem(MEMORY_KEY) || '{}');
      return value && typeof value === 'object' && value.logs ? value : { logs: {} };
    } catch (e) {
      return { logs: {} };
    }
  }
  function saveMemory(value) {
    localStorage.setItem(MEMORY_KEY, JSON.stringify(value));
  }
  function seenNotes(origin) {
    const log = memory().logs[origin];
    return log ? log.checkpoints.map((c) => c.note) : [];
  }
  function remember(result, source) {
    if (!result.checkpoint) return;
    const value = memory();
    const log = value.logs[result.origin] || (value.logs[result.origin] = { checkpoints: [] });
    if (result.key) log.key = result.key;
    if (!log.checkpoints.some((c) => c.size === result.size && c.root === result.root)) {
      log.checkpoints.push({ size: result.size, root: result.root, note: result.checkpoint,
        source: source, seen: new Date().toISOString() });
      log.checkpoints.sort((a, b) => a.size - b.size);
    }
    saveMemory(value);
    showRemembered();
  }
  function rememberedKey(origin) {
    const log = memory().logs[origin];
    return log ? log.key : null;
  }

  // ------------------------------------------------------------------ showing results
  function el(tag, attrs, children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === 'class') node.className = v; else node.setAttribute(k, v);
    }
    for (const child of [].concat(children || [])) {
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }
  function bilingual(zh, en, tag) {
    return el(tag || 'li', {}, [zh, el('span', { class: 'en' }, en)]);
  }
  function list(id, items) {
    const node = $(id);
    node.replaceChildren(...items.map(([zh, en]) => bilingual(zh, en)));
  }

  function showVerdict(ok, zh, en) {
    const node = $('verdict');
    node.className = 'verdict ' + (ok ? 'ok' : 'bad');
    node.dataset.ok = ok ? 'true' : 'false';
    node.replaceChildren(zh, el('span', { class: 'en' }, en));
    $('result').hidden = false;
  }

  function showMemory(result) {
    const alarm = $('rollback');
    const notes = $('memory-notes');
    alarm.replaceChildren();
    notes.replaceChildren();
    alarm.hidden = true;
    let broken = false;
    for (const j of result.memory || []) {
      if (j.status === 'broken') {
        broken = true;
        alarm.hidden = false;
        alarm.dataset.rule = j.rule;
        alarm.append(
          el('p', {}, [el('strong', {}, '账本历史被改写或回滚！ '), '[' + j.rule + '] ' + j.zh,
            el('span', { class: 'en' }, 'History rewritten or rolled back! ' + j.en)]),
          el('p', {}, ['本设备以前见过的检查点：', el('span', { class: 'en' }, 'The checkpoint this device saw before:')]),
          el('pre', { class: 'seen' }, j.seen.note),
          el('p', {}, ['现在看到的检查点：', el('span', { class: 'en' }, 'The checkpoint seen now:')]),
          el('pre', { class: 'new' }, j.new.note),
          ...(j.new.size < j.seen.size ? [el('p', {}, [
            '如果这是你以前保存的旧文件，记录较少是正常的；如果是刚从村里取得的，说明账本被回滚了。',
            el('span', { class: 'en' }, 'If this is an old file you kept, fewer records are expected; ' +
              'if you just got it from the village, its log was rolled back.')])] : []),
          el('p', {}, ['请把这两个检查点（截图）交给乡镇或区里的监督人员。',
            el('span', { class: 'en' }, 'Show both checkpoints (a screenshot) to the township or district.')]));
      } else if (j.status === 'needs_proof') {
        const input = el('input', { type: 'file', class: 'proof-file' });
        input.addEventListener('change', () => proveConsistency(j, result, input));
        notes.append(el('div', { class: 'note' }, [
          el('p', {}, [`未检查：本设备见过 ${j.seen.size} 条记录的检查点，现在是 ${j.new.size} 条。` +
            '要确认账本只增不改，需要一份一致性证明。',
          el('span', { class: 'en' }, `Not checked: this device saw a checkpoint of ${j.seen.size} records, ` +
            `this one has ${j.new.size}. A consistency proof shows whether the log only grew.`)]),
          el('p', { class: 'proof-where' }, [
            '在村公开页面所在的服务器上打开下面的地址下载证明（村公开页面“自己验证”一栏也可以下载），' +
            '或由 sunvote ledger consistency 命令生成；本页不联网，不会自己下载。证明由本页用签名的检查点核对，服务器无法伪造。',
            el('span', { class: 'en' }, 'Download the proof by opening this address on the server of the ' +
              'village\'s public page (its "verify it yourself" box has a form too), or make it with ' +
              '`sunvote ledger consistency`; this page uses no network and fetches nothing. The page ' +
              'checks the proof against signed checkpoints: the server cannot fake it.'),
            el('code', { class: 'proof-path' }, j.proof_path)]),
          el('label', {}, ['选择一致性证明文件 ', el('span', { class: 'en' }, 'Pick the consistency proof file'), input])]));
      } else {
        notes.append(el('div', { class: 'note ok' }, [
          `本设备见过的 ${j.seen.size} 条记录的检查点仍在账本中。`,
          el('span', { class: 'en' }, `The checkpoint of ${j.seen.size} records this device saw is still in the log.`)]));
      }
    }
    if (broken) {
      showVerdict(false, '警告：文件本身有效，但账本历史与本设备以前见过的不同（见下方红色警告）',
        'Warning: the file itself is valid, but the log\'s history differs from what this device saw before (red warning below)');
    }
  }

  async function proveConsistency(j, result, input) {
    const file = input.files[0];
    if (!file) return;
    const key = $('key').value.trim() || result.key;
    const [older, newer] = j.seen.size < j.new.size ? [j.seen, j.new] : [j.new, j.seen];
    const answer = JSON.parse(vb.consistency(older.note, newer.note, await file.text(), key));
    if (answer.kind === 'usage') {
      input.closest('.note').append(el('pre', {}, answer.text));
      return;
    }
    result.memory = result.memory.map((m) => (m === j ? answer : m));
    showMemory(result);
  }

  const CHECKED_EXPORT = [
    ['每条记录的格式和签名（账本公钥，及换钥记录）', 'Every record\'s format and signature (the log key, and key rotations)'],
    ['记录没有被修改、删除、调序或插入（默克尔树、prev 链、签名的检查点）', 'No record was changed, dropped, reordered or inserted (Merkle tree, prev chain, the signed checkpoint)'],
    ['每一步是否符合程序规则：职务、表决、公示、监督（与 sunvote ledger verify 相同的规则）', 'Every step followed the procedure: roles, votes, notices, supervision (the same rules as sunvote ledger verify)'],
    ['见证方的联署签名（导出文件或上面给出的见证方公钥）', 'The witnesses\' cosignatures (keys from the export or given above)'],
    ['本设备以前见过的检查点是否仍在账本中', 'Whether the checkpoints this device saw before are still in the log'],
  ];
  const UNCHECKED_EXPORT = [
    ['网页上的表格与账本是否一致（需要服务器端的 sunvote ledger check）', 'Whether the pages\' tables match the log (needs sunvote ledger check on the server)'],
    ['名字、文件内容等是否与现实相符', 'Whether names, files and the like match reality'],
    ['账本是否是最新的：村服务器可能给出旧的导出', 'Whether this is the newest log: a village server can hand out an old export'],
  ];
  const NO_KEY = ['未输入账本公钥：只证明文件自身一致，不证明它就是该村的账本', 'No log key given: this shows the file is consistent, not that it is the village\'s log'];

  function showExport(result) {
    if (result.kind === 'usage') {
      showVerdict(false, '无法读取：' + result.text, 'Cannot read: ' + result.text);
      $('output').textContent = result.text;
      list('checked', []); list('unchecked', []);
      showMemory({ memory: [] });
      return;
    }
    const report = result.report;
    if (result.ok) {
      showVerdict(true, `验证通过：${report.records} 条记录`, `Verified: ${report.records} records`);
    } else {
      const first = report.failures[0];
      const where = first.index === null ? '导出文件' : `第 ${first.index} 条记录（${first.type}）`;
      showVerdict(false, `验证失败：${report.failures.length} 处问题，首先是 ${where}，退出码 ${report.exit_code}`,
        `FAILED: ${report.failures.length} failure(s), first at ${first.index === null ? 'the export' : 'record ' + first.index + ' (' + first.type + ')'}, exit code ${report.exit_code}`);
    }
    $('output').textContent = result.text;
    list('checked', CHECKED_EXPORT);
    list('unchecked', result.key_source === 'given' ? UNCHECKED_EXPORT : [NO_KEY, ...UNCHECKED_EXPORT]);
    showMemory(result);
  }

  function showReceipt(result) {
    $('output').textContent = result.text;
    if (result.kind === 'usage') {
      showVerdict(false, '无法读取：' + result.text, 'Cannot read: ' + result.text);
      list('checked', []); list('unchecked', []);
      showMemory({ memory: [] });
      return;
    }
    if (result.ok) {
      const b = result.ballot;
      const what = b ? `选票 ${b.ballot}（会议 ${b.meeting} 表决 ${b.poll}，选择 ${b.choice}）` : `第 ${result.index} 条记录`;
      const whatEn = b ? `ballot ${b.ballot} (meeting ${b.meeting} poll ${b.poll}, choice ${b.choice})` : `record ${result.index}`;
      showVerdict(true, `证明成功：${what}在账本中（${result.size} 条记录的检查点）`,
        `Proven: ${whatEn} is in the log (checkpoint of ${result.size} records)`);
    } else {
      showVerdict(false, '未能证明：' + result.text, 'NOT PROVEN: ' + result.text);
    }
    list('checked', [
      ['该记录在检查点所代表的账本中（包含证明，叶哈希由记录本身算出）', 'The record is in the log of the checkpoint (inclusion proof, leaf hash computed from the record)'],
      ['检查点由账本公钥签名（及给出的见证方联署）', 'The checkpoint is signed by the log key (and cosigned by the witnesses given)'],
      ['与本设备以前见过的检查点是否一致（大小不同时需要一致性证明）', 'Whether it agrees with checkpoints this device saw before (a consistency proof when sizes differ)'],
    ]);
    list('unchecked', [
      ['账本中的其他记录和程序规则（请验证整份导出文件）', 'The log\'s other records and the procedure rules (verify the whole export)'],
      ['检查点是否是最新的', 'Whether the checkpoint is the newest'],
      ['无记名表决：回执只证明选票在账本中，不证明是谁投的', 'Secret ballots: a receipt proves the ballot is in the log, not who cast it'],
    ]);
    showMemory(result);
  }

  function showRemembered() {
    const logs = memory().logs;
    const node = $('remembered');
    node.replaceChildren();
    const origins = Object.keys(logs).sort();
    if (!origins.length) {
      node.append(bilingual('还没有。', 'None yet.', 'p'));
      return;
    }
    for (const origin of origins) {
      const log = logs[origin];
      const forget = el('button', { type: 'button' }, '忘记 / Forget');
      forget.addEventListener('click', () => {
        const value = memory();
        delete value.logs[origin];
        saveMemory(value);
        showRemembered();
      });
      node.append(el('div', { class: 'village' }, [
        el('strong', {}, origin), ' ',
        el('ul', {}, log.checkpoints.map((c) => el('li', {},
          [`${c.size} 条记录 / records · `, el('code', {}, c.root), ` · ${c.seen.slice(0, 10)}`]))),
        forget]));
    }
  }

  // ------------------------------------------------------------------ actions
  function keys(id) {
    return JSON.stringify($(id).value.split('\n').map((s) => s.trim()).filter(Boolean));
  }
  function busy(on) {
    for (const id of ['export-file', 'receipt-file', 'qr-image', 'scan']) $(id).disabled = on;
    $('status').dataset.state = on ? 'loading' : 'ready';
    $('status').replaceChildren(...(on ? ['正在验证…… ', el('span', { class: 'en' }, 'Verifying…')]
      : ['验证程序已就绪。 ', el('span', { class: 'en' }, 'The verifier is ready.')]));
  }
  function originOfReceipt(text) {
    const blank = text.indexOf('\n\n');
    const origin = blank < 0 ? '' : text.slice(blank + 2).split('\n')[0];
    return origin;
  }

  async function verifyExport(file) {
    busy(true);
    await new Promise((r) => setTimeout(r, 30)); // let the page paint "verifying"
    try {
      const data = new Uint8Array(await file.arrayBuffer());
      const given = keys('key');
      // The origin is only known after reading: pass every remembered checkpoint, Python keeps
      // those of the export's origin.
      const all = Object.values(memory().logs).flatMap((l) => l.checkpoints.map((c) => c.note));
      const started = performance.now();
      const result = JSON.parse(vb.export(data, given, keys('witness'), JSON.stringify(all)));
      window.sunvoteVerifier.lastMs = performance.now() - started;
      showExport(result);
      if (result.kind === 'export') remember(result, 'export');
    } finally {
      busy(false);
    }
  }

  async function verifyReceiptText(text) {
    busy(true);
    try {
      const origin = originOfReceipt(text);
      let key = $('key').value.trim().split('\n')[0] || '';
      if (!key) key = rememberedKey(origin) || '';
      if (!key) {
        showVerdict(false, '请先输入村二维码海报上的账本公钥。', 'Enter the log key from the village\'s QR poster first.');
        $('output').textContent = '';
        return;
      }
      const data = new TextEncoder().encode(text);
      const result = JSON.parse(vb.receipt(data, key, keys('witness'), JSON.stringify(seenNotes(origin)),
        $('ballot').value.trim()));
      showReceipt(result);
      if (result.ok) remember(result, 'receipt');
    } finally {
      busy(false);
    }
  }

  // ------------------------------------------------------------------ QR codes
  // The browser's BarcodeDetector where it has one; else jsQR (embedded, pinned) on the
  // picture's pixels: Chromium on Linux and Windows and Firefox have no BarcodeDetector.
  let jsQRLoaded = null;
  async function jsQRDecode(source) {
    if (!jsQRLoaded) jsQRLoaded = embedded('jsqr.js').then(loadScript);
    await jsQRLoaded;
    const width = source.videoWidth || source.width, height = source.videoHeight || source.height;
    if (!width || !height) return null;
    const canvas = document.createElement('canvas');
    canvas.width = width;
    canvas.height = height;
    const context = canvas.getContext('2d', { willReadFrequently: true });
    context.drawImage(source, 0, 0, width, height);
    const pixels = context.getImageData(0, 0, width, height);
    const code = globalThis.jsQR(pixels.data, width, height, { inversionAttempts: 'attemptBoth' });
    return code ? code.data : null;
  }
  async function decodeQr(source) {
    if (!('BarcodeDetector' in globalThis)) return jsQRDecode(source);
    const detector = new BarcodeDetector({ formats: ['qr_code'] });
    const codes = await detector.detect(source);
    return codes.length ? codes[0].rawValue : jsQRDecode(source);
  }
  function qrText(text) {
    if (text && text.startsWith('sunvote-receipt/v1')) return verifyReceiptText(text.endsWith('\n') ? text : text + '\n');
    if (text && /^[^+\s]+\+[0-9a-f]{8}\+[A-Za-z0-9+/=]+$/.test(text.trim())) {
      $('key').value = text.trim();
      return null;
    }
    const check = text && /^https?:\/\/[^\s]+\/p\/[^\s/?]+\/receipt\?ballot=[A-Za-z0-9_-]+$/.test(text.trim());
    if (check) {
      const note = $('scan-note');
      note.hidden = false;
      note.replaceChildren('这是回执的网上查验地址。本页不联网：请用手机浏览器打开这个地址，保存页面上的“回执二维码”截图或下载回执文件，再在这里选择。',
        el('span', { class: 'en' }, 'This is the receipt\'s online check address. This page makes no network requests: open the address in a browser, save the "receipt QR" there as a screenshot or download the receipt file, then pick it here.'),
        el('code', {}, text.trim()));
      return null;
    }
    const note = $('scan-note');
    note.hidden = false;
    note.replaceChildren(...(text ? ['二维码里不是回执或账本公钥。', el('span', { class: 'en' }, 'The QR code holds neither a receipt nor a log key.')]
      : ['没有读出二维码；请选择回执文件。', el('span', { class: 'en' }, 'No QR code read; pick the receipt file instead.')]));
    return null;
  }
  function noDetector() {
    const note = $('scan-note');
    note.hidden = false;
    note.replaceChildren('此浏览器不能识别二维码；请选择回执文件。',
      el('span', { class: 'en' }, 'This browser cannot read QR codes; pick the receipt file instead.'));
  }
  async function scanCamera() {
    if (!navigator.mediaDevices) return noDetector();
    const video = $('camera');
    const stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: 'environment' } });
    video.srcObject = stream;
    video.hidden = false;
    await video.play();
    const stop = () => { stream.getTracks().forEach((t) => t.stop()); video.hidden = true; };
    const deadline = Date.now() + 60000;
    while (Date.now() < deadline) {
      const text = await decodeQr(video).catch(() => null);
      if (text) { stop(); return qrText(text); }
      await new Promise((r) => setTimeout(r, 250));
    }
    stop();
    return qrText(null);
  }

  // ------------------------------------------------------------------ start
  function wire() {
    $('export-file').addEventListener('change', (e) => e.target.files[0] && verifyExport(e.target.files[0]));
    $('receipt-file').addEventListener('change', async (e) => e.target.files[0] && verifyReceiptText(await e.target.files[0].text()));
    $('qr-image').addEventListener('change', async (e) => {
      const file = e.target.files[0];
      if (!file) return;
      qrText(await decodeQr(await createImageBitmap(file)).catch(() => null));
    });
    $('scan').addEventListener('click', () => scanCamera().catch((err) => {
      const note = $('scan-note');
      note.hidden = false;
      note.textContent = '无法打开摄像头 / Cannot open the camera: ' + err.message;
    }));
  }

  wire();
  showRemembered();
  boot().then(() => busy(false), (err) => {
    const status = $('status');
    status.dataset.state = 'error';
    status.textContent = '验证程序无法启动 / The verifier could not start: ' + err.message;
    console.error(err);
  });
})();
