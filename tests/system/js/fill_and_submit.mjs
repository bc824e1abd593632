#!/usr/bin/env node
// Real-ODK-client test driver.
//
// Downloads every form an OpenRosa server lists (formList -> XForm ->
// manifest -> media), loads each form with ODK's own form engine
// (@getodk/xforms-engine, the engine behind ODK Web Forms) under jsdom, fills
// it as an officer would, builds the submission with the engine and POSTs it
// back as multipart/form-data, exactly like an ODK client does.
//
// Usage: node tests/js/fill_and_submit.mjs <base-url> [--form ID]... [--answers DIR] [--no-submit] [--save-xml DIR]
//   <base-url>     OpenRosa base, e.g. http://127.0.0.1:5000/v1/key/TOKEN/projects/1
//   --form ID      only fill these form IDs (repeatable; default: all listed forms)
//   --answers DIR  folder of scenario files <formId>.json (default: answers/ next to this script)
//   --no-submit    fill and validate, but do not POST (status is reported as null)
//   --save-xml DIR write each built submission to DIR/<formId>.xml (with --no-submit: a tablet offline,
//                  holding a finalised form to send later)
//
// A scenario file maps a question name (last path segment) to the value to
// enter; those values are used first, the generic filler answers the rest.
//
// stdout: one JSON line per form (see README.md). stderr: progress log.
// Exit status: 0 when every form was answered with HTTP 201, 1 otherwise,
// 2 on usage / formList errors.

import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createHash } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { deflateSync } from 'node:zlib';
import { JSDOM } from 'jsdom';

// ---------------------------------------------------------------------------
// Environment for the engine: it is built for browsers. Its bundled
// web-tree-sitter reads `__dirname` in Node (the wasm itself is inlined as a
// data: URL, nothing is read from disk or the network), and its XForm parser
// uses DOMParser / Node / Element ... as globals. We copy jsdom's window
// globals that Node does not already have, so Node's own fetch, URL, Blob,
// File, FormData, Request, Response, Headers and crypto stay in place.
// ---------------------------------------------------------------------------
const HERE = path.dirname(fileURLToPath(import.meta.url));
globalThis.__dirname ??= HERE;
{
	const dom = new JSDOM('<!DOCTYPE html><html><head></head><body></body></html>', {
		url: 'http://localhost/',
	});
	for (const key of Object.getOwnPropertyNames(dom.window)) {
		if (key in globalThis || key.startsWith('_')) continue;
		try {
			Object.defineProperty(globalThis, key, {
				configurable: true,
				writable: true,
				value: dom.window[key],
			});
		} catch {
			// some window accessors cannot be copied; the engine does not need them
		}
	}
}
const { loadForm } = await import('@getodk/xforms-engine');

// ---------------------------------------------------------------------------
// CLI
// ---------------------------------------------------------------------------
const log = (...args) => console.error('[fill_and_submit]', ...args);

const argv = process.argv.slice(2);
const onlyForms = new Set();
let noSubmit = false;
let saveDir = null;
let baseArg = null;
let answersDir = path.join(HERE, 'answers');
const USAGE = 'usage: node fill_and_submit.mjs <base-url> [--form ID]... [--answers DIR] [--no-submit] [--save-xml DIR]';
for (let i = 0; i < argv.length; i++) {
	const a = argv[i];
	if (a === '--form') onlyForms.add(argv[++i]);
	else if (a.startsWith('--form=')) onlyForms.add(a.slice('--form='.length));
	else if (a === '--no-submit') noSubmit = true;
	else if (a === '--save-xml' && i + 1 < argv.length) saveDir = path.resolve(argv[++i]);
	else if (a === '--answers' && i + 1 < argv.length) answersDir = path.resolve(argv[++i]);
	else if (a.startsWith('--answers=')) answersDir = path.resolve(a.slice('--answers='.length));
	else if (a === '-h' || a === '--help') {
		console.error(USAGE);
		process.exit(0);
	} else if (!baseArg && !a.startsWith('--')) baseArg = a;
	else {
		console.error(`unknown argument: ${a}`);
		process.exit(2);
	}
}
if (!baseArg) {
	console.error(USAGE);
	process.exit(2);
}
const BASE = baseArg.replace(/\/+$/, '');

// ---------------------------------------------------------------------------
// HTTP helpers (OpenRosa)
// ---------------------------------------------------------------------------
const OPENROSA_HEADERS = { 'X-OpenRosa-Version': '1.0' };
const TIMEOUT_MS = 60_000;

const httpGet = async (url) => {
	const res = await fetch(url, {
		headers: { ...OPENROSA_HEADERS, 'Accept-Language': 'en' },
		signal: AbortSignal.timeout(TIMEOUT_MS),
		redirect: 'follow',
	});
	const bytes = new Uint8Array(await res.arrayBuffer());
	if (!res.ok) {
		const text = new TextDecoder().decode(bytes).slice(0, 500);
		throw new Error(`GET ${url} -> HTTP ${res.status}: ${text}`);
	}
	return { bytes, contentType: res.headers.get('content-type'), status: res.status };
};

const md5 = (bytes) => createHash('md5').update(bytes).digest('hex');

const parseXML = (text, what) => {
	const doc = new DOMParser().parseFromString(text, 'text/xml');
	const err = doc.getElementsByTagName('parsererror')[0];
	if (err) throw new Error(`${what} is not well-formed XML: ${err.textContent.slice(0, 200)}`);
	return doc;
};

// Child element text by local name (namespace-agnostic).
const childText = (el, localName) => {
	for (const c of el.children) if (c.localName === localName) return c.textContent.trim();
	return null;
};

const parseFormList = (text) => {
	const doc = parseXML(text, 'formList');
	const root = doc.documentElement;
	if (root.localName !== 'xforms' || root.namespaceURI !== 'http://openrosa.org/xforms/xformsList') {
		throw new Error(
			`formList root is <${root.nodeName} xmlns="${root.namespaceURI}">, expected <xforms xmlns="http://openrosa.org/xforms/xformsList">`
		);
	}
	return [...root.children]
		.filter((e) => e.localName === 'xform')
		.map((e) => ({
			formID: childText(e, 'formID'),
			name: childText(e, 'name'),
			version: childText(e, 'version'),
			hash: childText(e, 'hash'),
			downloadUrl: childText(e, 'downloadUrl'),
			manifestUrl: childText(e, 'manifestUrl') || null,
		}));
};

const parseManifest = (text) => {
	const doc = parseXML(text, 'manifest');
	const root = doc.documentElement;
	if (root.localName !== 'manifest' || root.namespaceURI !== 'http://openrosa.org/xforms/xformsManifest') {
		throw new Error(
			`manifest root is <${root.nodeName} xmlns="${root.namespaceURI}">, expected <manifest xmlns="http://openrosa.org/xforms/xformsManifest">`
		);
	}
	return [...root.children]
		.filter((e) => e.localName === 'mediaFile')
		.map((e) => ({
			filename: childText(e, 'filename'),
			hash: childText(e, 'hash'),
			downloadUrl: childText(e, 'downloadUrl'),
		}));
};

const contentTypeFor = (filename) => {
	const ext = filename.toLowerCase().split('.').pop();
	return (
		{
			csv: 'text/csv',
			xml: 'text/xml',
			geojson: 'application/geo+json',
			png: 'image/png',
			jpg: 'image/jpeg',
			jpeg: 'image/jpeg',
			mp3: 'audio/mpeg',
			wav: 'audio/wav',
		}[ext] ?? 'application/octet-stream'
	);
};

/**
 * The engine turns every CSV column into an element and every element name of
 * a choice into an XPath expression (item "properties"), so a column such as
 * `label::Lao (lo)` makes loadForm() fail with "Expression has syntax error".
 * ODK Collect accepts such columns. Rename offending header cells to safe
 * names (only the header row is touched; the form can only reference columns
 * whose names are valid XML names anyway).
 */
const XML_NAME = /^[A-Za-z_][A-Za-z0-9_.-]*$/;
const sanitizeCSVHeader = (text) => {
	const bom = text.startsWith('\uFEFF') ? '\uFEFF' : '';
	const body = bom ? text.slice(1) : text;
	const nl = body.search(/\r?\n/);
	const header = nl === -1 ? body : body.slice(0, nl);
	const rest = nl === -1 ? '' : body.slice(nl);
	// Header cells are simple in practice; handle quoted cells without embedded quotes/commas/newlines.
	const delimiter = header.includes(',') || !header.includes(';') ? ',' : ';';
	const renamed = [];
	const cells = header.split(delimiter).map((raw) => {
		const cell = raw.trim().replace(/^"(.*)"$/, '$1');
		if (XML_NAME.test(cell)) return raw;
		let safe = cell.replace(/[^A-Za-z0-9_.-]+/g, '_').replace(/_+$/, '');
		if (!/^[A-Za-z_]/.test(safe)) safe = `_${safe}`;
		renamed.push([cell, safe]);
		return safe;
	});
	return { text: bom + cells.join(delimiter) + rest, renamed };
};

// ---------------------------------------------------------------------------
// Generated attachment payloads
// ---------------------------------------------------------------------------
const crc32 = (buf) => {
	let c;
	let crc = 0xffffffff;
	for (let n = 0; n < buf.length; n++) {
		c = (crc ^ buf[n]) & 0xff;
		for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
		crc = (crc >>> 8) ^ c;
	}
	return (crc ^ 0xffffffff) >>> 0;
};
const pngChunk = (type, data) => {
	const len = Buffer.alloc(4);
	len.writeUInt32BE(data.length);
	const td = Buffer.concat([Buffer.from(type, 'ascii'), data]);
	const crc = Buffer.alloc(4);
	crc.writeUInt32BE(crc32(td));
	return Buffer.concat([len, td, crc]);
};
/** A valid 1x1 RGB PNG (a red pixel). */
const makePNG = () => {
	const ihdr = Buffer.alloc(13);
	ihdr.writeUInt32BE(1, 0); // width
	ihdr.writeUInt32BE(1, 4); // height
	ihdr[8] = 8; // bit depth
	ihdr[9] = 2; // colour type RGB
	return Buffer.concat([
		Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
		pngChunk('IHDR', ihdr),
		pngChunk('IDAT', deflateSync(Buffer.from([0, 0xff, 0, 0]))),
		pngChunk('IEND', Buffer.alloc(0)),
	]);
};
/** A valid 0.01 s silent 8 kHz mono 8-bit WAV. */
const makeWAV = () => {
	const samples = Buffer.alloc(80, 0x80);
	const h = Buffer.alloc(44);
	h.write('RIFF', 0);
	h.writeUInt32LE(36 + samples.length, 4);
	h.write('WAVEfmt ', 8);
	h.writeUInt32LE(16, 16);
	h.writeUInt16LE(1, 20);
	h.writeUInt16LE(1, 22);
	h.writeUInt32LE(8000, 24);
	h.writeUInt32LE(8000, 28);
	h.writeUInt16LE(1, 32);
	h.writeUInt16LE(8, 34);
	h.write('data', 36);
	h.writeUInt32LE(samples.length, 40);
	return Buffer.concat([h, samples]);
};

// ---------------------------------------------------------------------------
// Filling
// ---------------------------------------------------------------------------
const pad = (n) => String(n).padStart(2, '0');
const isoDate = (d) => `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
const addDays = (d, n) => new Date(d.getFullYear(), d.getMonth(), d.getDate() + n);

const NOW = new Date();
const TODAY = isoDate(NOW);
const GEOPOINT = '17.97 102.6 0 5';
const GEOTRACE = '17.97 102.6 0 5;17.98 102.61 0 5';
const GEOSHAPE = '17.97 102.6 0 5;17.98 102.61 0 5;17.96 102.62 0 5;17.97 102.6 0 5';

const nodeName = (node) => {
	const ref = node.currentState.reference;
	return ref.slice(ref.lastIndexOf('/') + 1).replace(/\[\d+\]$/, '');
};

/** Candidate values for an input node, in order of preference. */
const inputCandidates = (node) => {
	const name = nodeName(node);
	switch (node.valueType) {
		case 'int':
			// 30 first (an adult's age); the rest is a sweep for constraints such as `. <= 10` or `. >= 2000`
			return [30, 1, 0, 5, 2026, 2, 3, 4, 6, 7, 8, 9, 10, 12, 15, 18, 20, 25, 40, 50, 60, 99, 100, 120, 200, 500, 1000, 1001, 2000, 5000, 10000, -1];
		case 'decimal':
			return [1.5, 1, 0, 0.5, 2.5, 3.5, 5, 10, 0.1, 25.5, 50, 100, 1000, 2026, -1];
		case 'date':
			return [TODAY, isoDate(addDays(NOW, -1)), isoDate(addDays(NOW, -365)), '2000-01-01', isoDate(addDays(NOW, 1))];
		case 'time':
			return ['10:30:00.000+07:00', '08:00:00.000+07:00'];
		case 'dateTime':
			return [NOW.toISOString(), new Date(NOW.getTime() - 86_400_000).toISOString()];
		case 'geopoint':
			return [GEOPOINT];
		case 'geotrace':
			return [GEOTRACE];
		case 'geoshape':
			return [GEOSHAPE];
		case 'boolean':
			return ['true', '1'];
		default:
			// string, barcode, intent and anything new
			return [`test ${name}`, 'test', '2055555555', '12345678', 'A1', 'test@example.org'];
	}
};

const isConstraintOk = (node) => node.validationState?.constraint?.valid !== false;

/** Try candidates in turn until the node's constraint holds. Returns true when one did. */
const trySet = (node, candidates, apply) => {
	for (const c of candidates) {
		apply(c);
		if (isConstraintOk(node)) return true;
	}
	apply(candidates[0]); // none satisfies the constraint: keep the preferred value, validation will report it
	return false;
};

// ---------------------------------------------------------------------------
// Scenario answers: <answersDir>/<formId>.json
// ---------------------------------------------------------------------------
const ALL = '*all*';

/**
 * Read `<answersDir>/<formID>.json`, a JSON object {question name: value}.
 * Returns null when the form has no such file; throws when it is malformed.
 * Keys starting with `#` are comments.
 */
const loadAnswers = async (formID) => {
	const file = path.join(answersDir, `${formID}.json`);
	let text;
	try {
		text = await readFile(file, 'utf8');
	} catch (e) {
		if (e.code === 'ENOENT') return null;
		throw new Error(`cannot read ${file}: ${e.message}`);
	}
	let obj;
	try {
		obj = JSON.parse(text);
	} catch (e) {
		throw new Error(`${file}: ${e.message}`);
	}
	if (!obj || typeof obj !== 'object' || Array.isArray(obj)) {
		throw new Error(`${file}: expected a JSON object {"question name": value}`);
	}
	const answers = new Map();
	for (const [key, v] of Object.entries(obj)) {
		if (key.startsWith('#')) continue;
		const valid =
			v === null ||
			['string', 'number', 'boolean'].includes(typeof v) ||
			(Array.isArray(v) && v.every((x) => typeof x === 'string'));
		if (!valid) throw new Error(`${file}: "${key}": a value must be a string, a number, a list of strings or null`);
		answers.set(key, typeof v === 'number' || typeof v === 'boolean' ? String(v) : v);
	}
	return { file, answers };
};

/**
 * Date shorthands for date/dateTime answers, so scenarios stay valid over time:
 * `today`, `today-N` / `today+N` (N days) and `month`, `month-N` / `month+N`
 * (the first day of this month, N months back / ahead). Other values pass through.
 */
const DATE_TOKEN = /^(today|month)(?:([+-])(\d+))?$/;
const resolveDateToken = (value, valueType) => {
	const m = DATE_TOKEN.exec(value);
	if (!m || (valueType !== 'date' && valueType !== 'dateTime')) return value;
	const n = m[2] ? Number(m[3]) * (m[2] === '-' ? -1 : 1) : 0;
	const d = m[1] === 'today' ? addDays(NOW, n) : new Date(NOW.getFullYear(), NOW.getMonth() + n, 1);
	if (valueType === 'date') return isoDate(d);
	return new Date(d.getFullYear(), d.getMonth(), d.getDate(), NOW.getHours(), NOW.getMinutes()).toISOString();
};

/** Attach a generated PNG (or, for audio, WAV) under fileName, or `<question>.png` made unique. */
const attachFile = (node, ctx, fileName) => {
	const accept = node.nodeOptions?.media?.type ?? 'image';
	const audio = accept === 'audio';
	const ext = audio ? 'wav' : 'png';
	if (!fileName) {
		fileName = `${nodeName(node)}.${ext}`;
		for (let i = 2; ctx.fileNames.has(fileName); i++) fileName = `${nodeName(node)}-${i}.${ext}`;
	}
	ctx.fileNames.add(fileName);
	const bytes = audio ? makeWAV() : makePNG();
	node.setValue(new File([bytes], fileName, { type: audio ? 'audio/wav' : 'image/png' }));
	return bytes.length;
};

/**
 * Enter the scenario value for one leaf. Same contract as answer(): true = set &
 * constraint ok, false = set but constraint fails (or the value could not be
 * entered: recorded in ctx.answerErrors, which stops the submission), null =
 * no choices yet, retry next pass.
 */
const answerFromScenario = (node, ctx, value) => {
	const ref = node.currentState.reference;
	const name = nodeName(node);
	const fail = (msg) => {
		ctx.usedAnswers.add(name);
		const err = `${ref}: ${msg}`;
		if (!ctx.answerErrors.includes(err)) {
			ctx.answerErrors.push(err);
			log(`  ${ref}: answers file value ${JSON.stringify(value)}: ${msg}`);
		}
		return false;
	};
	if (Array.isArray(value) && !['select', 'rank'].includes(node.nodeType)) {
		return fail(`a list is only for select_multiple and rank questions`);
	}
	try {
		switch (node.nodeType) {
			case 'select':
			case 'rank': {
				const options = node.currentState.valueOptions.map((o) => o.value);
				if (options.length === 0) return null; // e.g. a choice filter waiting for an earlier answer
				const multiple = node.nodeType === 'rank' || node.selectType === 'select';
				if (value === ALL && !multiple) return fail(`"${ALL}" is only for select_multiple and rank questions`);
				const wanted =
					value === ALL ? options : Array.isArray(value) ? value : String(value).split(/\s+/).filter(Boolean);
				if (!multiple && wanted.length !== 1) return fail('a select_one takes exactly one choice');
				const unknown = wanted.filter((v) => !options.includes(v));
				if (unknown.length) {
					return fail(`${unknown.map((v) => JSON.stringify(v)).join(', ')} not among the choices: ${options.join(' ')}`);
				}
				if (node.nodeType === 'rank') node.setValues(wanted);
				else if (multiple) node.selectValues(wanted);
				else node.selectValue(wanted[0]);
				break;
			}
			case 'range':
				node.setValue(Number(value));
				break;
			case 'trigger':
				node.setValue(true);
				break;
			case 'upload':
				attachFile(node, ctx, String(value));
				break;
			case 'input':
				node.setValue(resolveDateToken(String(value), node.valueType));
				break;
			default:
				return fail(`unsupported node type ${node.nodeType}`);
		}
	} catch (e) {
		return fail(`cannot be entered: ${e.message ?? e}`);
	}
	ctx.usedAnswers.add(name);
	const ok = isConstraintOk(node);
	log(`  ${ref} = ${JSON.stringify(node.currentState.instanceValue)} (answers file)${ok ? '' : '  (constraint fails)'}`);
	return ok;
};

/**
 * Walk the instance tree, answering every relevant, writable, not yet
 * answered question. Returns the number of questions newly answered, so the
 * caller can walk again until nothing changes (relevance, choice filters and
 * repeat counts depend on earlier answers).
 */
const fillPass = (root, ctx) => {
	let changed = 0;
	const visit = (node) => {
		const st = node.currentState;
		if (!st.relevant) return;
		switch (node.nodeType) {
			case 'root':
			case 'group':
			case 'repeat-instance':
				for (const child of st.children) visit(child);
				return;
			case 'repeat-range:uncontrolled':
				if (st.children.length === 0 && !ctx.repeatsAdded.has(node.nodeId)) {
					log(`  add repeat instance ${st.reference}`);
					node.addInstances();
					ctx.repeatsAdded.add(node.nodeId);
					changed++;
				}
				for (const child of node.currentState.children) visit(child);
				return;
			case 'repeat-range:controlled':
				for (const child of st.children) visit(child);
				return;
			case 'model-value':
			case 'note':
				return;
			default:
				break;
		}
		if (st.readonly) return;
		if (ctx.skipped.has(node.nodeId)) return;
		const name = nodeName(node);
		if (ctx.answers.get(name) === null) {
			// null in the answers file: leave the question as the form has it (empty or its default)
			ctx.skipped.add(node.nodeId);
			ctx.usedAnswers.add(name);
			log(`  ${st.reference} left as is (null in the answers file)`);
			return;
		}
		if (ctx.answered.has(node.nodeId)) {
			// Answered before, but the engine may have cleared it since (e.g. a choice
			// filter that depends on a later answer removed the chosen option).
			const tries = ctx.retries.get(node.nodeId) ?? 0;
			if (st.instanceValue !== '' || node.nodeType === 'upload' || tries >= 3) return;
			ctx.retries.set(node.nodeId, tries + 1);
			log(`  ${st.reference} was cleared, answering again`);
		}
		const ok = answer(node, ctx);
		if (ok === null) return; // nothing could be set yet (e.g. empty choice list); retry next pass
		ctx.answered.set(node.nodeId, node);
		if (!ok) ctx.constraintFailures.add(node.nodeId);
		changed++;
	};
	visit(root);
	return changed;
};

/** Answer one leaf. true = set & constraint ok, false = set but constraint fails, null = could not set. */
const answer = (node, ctx) => {
	const ref = node.currentState.reference;
	if (ctx.answers.has(nodeName(node))) return answerFromScenario(node, ctx, ctx.answers.get(nodeName(node)));
	switch (node.nodeType) {
		case 'select': {
			const options = node.currentState.valueOptions.map((o) => o.value);
			if (options.length === 0) return null;
			const ordered = options.includes('yes') ? ['yes', ...options.filter((v) => v !== 'yes')] : options;
			const multiple = node.selectType === 'select';
			const ok = trySet(node, ordered, (v) => (multiple ? node.selectValues([v]) : node.selectValue(v)));
			log(`  ${ref} = ${JSON.stringify(node.currentState.instanceValue)}${ok ? '' : '  (constraint still fails)'}`);
			return ok;
		}
		case 'rank': {
			const options = node.currentState.valueOptions.map((o) => o.value);
			if (options.length === 0) return null;
			node.setValues(options);
			log(`  ${ref} = ${JSON.stringify(node.currentState.instanceValue)}`);
			return isConstraintOk(node);
		}
		case 'range': {
			const { start, end, step } = node.definition.bodyElement.bounds;
			const [s, e, st] = [Number(start), Number(end), Number(step) || 1];
			const cands = [s, s + st, e, Math.round((s + e) / 2)];
			const ok = trySet(node, cands, (v) => node.setValue(v));
			log(`  ${ref} = ${JSON.stringify(node.currentState.instanceValue)}`);
			return ok;
		}
		case 'trigger': {
			node.setValue(true);
			log(`  ${ref} = ${JSON.stringify(node.currentState.instanceValue)}`);
			return isConstraintOk(node);
		}
		case 'upload': {
			const size = attachFile(node, ctx, null);
			log(`  ${ref} = ${JSON.stringify(node.currentState.instanceValue)} (${size} bytes)`);
			return isConstraintOk(node);
		}
		case 'input': {
			const ok = trySet(node, inputCandidates(node), (v) => node.setValue(v));
			log(`  ${ref} = ${JSON.stringify(node.currentState.instanceValue)}${ok ? '' : '  (constraint still fails)'}`);
			return ok;
		}
		default:
			log(`  ${ref}: unsupported node type ${node.nodeType}, left empty`);
			return null;
	}
};

const collectRepeats = (node, out) => {
	const st = node.currentState;
	if (node.nodeType === 'repeat-range:uncontrolled' || node.nodeType === 'repeat-range:controlled') {
		if (st.relevant) out[st.reference] = st.children.length;
	}
	if (!st.relevant) return out;
	for (const child of st.children ?? []) collectRepeats(child, out);
	return out;
};

/** A node counts as relevant only when it and every ancestor is relevant. */
const isEffectivelyRelevant = (node) => {
	for (let n = node; n && n.currentState; n = n.parent) {
		if (!n.currentState.relevant) return false;
		if (n.nodeType === 'root') break;
	}
	return true;
};

// ---------------------------------------------------------------------------
// One form
// ---------------------------------------------------------------------------
const processForm = async (entry) => {
	const { formID } = entry;
	const warnings = [];
	log(`form ${formID} (version ${entry.version}): GET ${entry.downloadUrl}`);
	if (!entry.downloadUrl) throw new Error('formList entry has no downloadUrl');
	const formRes = await httpGet(entry.downloadUrl);
	const formXML = new TextDecoder().decode(formRes.bytes);
	if (entry.hash?.startsWith('md5:') && entry.hash.slice(4) !== md5(formRes.bytes)) {
		const w = `formList hash ${entry.hash} != md5:${md5(formRes.bytes)} of the downloaded XForm`;
		warnings.push(w);
		log(`  WARNING ${w}`);
	}

	// Media files listed by the manifest, kept in memory and served to the engine.
	const media = new Map();
	if (entry.manifestUrl) {
		log(`  GET manifest ${entry.manifestUrl}`);
		const manRes = await httpGet(entry.manifestUrl);
		for (const mf of parseManifest(new TextDecoder().decode(manRes.bytes))) {
			log(`  GET media ${mf.filename} <- ${mf.downloadUrl}`);
			const r = await httpGet(mf.downloadUrl);
			if (mf.hash?.startsWith('md5:') && mf.hash.slice(4) !== md5(r.bytes)) {
				const w = `manifest hash ${mf.hash} != md5:${md5(r.bytes)} of media file ${mf.filename}`;
				warnings.push(w);
				log(`  WARNING ${w}`);
			}
			media.set(mf.filename, r.bytes);
		}
	}

	// The engine only fetches secondary instances (CSV/XML/GeoJSON) while
	// loading; label media (jr://images/..., jr://audio/...) is never requested.
	// Check those against the manifest ourselves, as Collect would show a broken
	// image. Missing media is a warning, not a failure.
	const referenced = new Set();
	for (const m of formXML.matchAll(/jr:\/\/(?:images|audio|video|file|file-csv)\/([^"'<>\s]+)/g)) {
		referenced.add(decodeURIComponent(m[1]));
	}
	for (const f of referenced) {
		if (!media.has(f)) {
			const w = `form references jr:// media "${f}" that the manifest does not list`;
			warnings.push(w);
			log(`  WARNING ${w}`);
		}
	}

	// The engine calls this with the form's jr:// URLs (jr://file-csv/x.csv,
	// jr://file/x.xml, jr://images/x.png ...). Like Collect, resolve them by file
	// name against the manifest. The Content-Type decides how a secondary
	// instance is parsed, so set it from the extension.
	const requestedMedia = [];
	const fetchFormAttachment = async (url) => {
		const fileName = decodeURIComponent(url.pathname.split('/').pop() || url.host);
		requestedMedia.push(url.href);
		const bytes = media.get(fileName);
		if (!bytes) {
			log(`  engine asked for ${url.href}: not in the manifest (404)`);
			return new Response('not found', { status: 404, headers: { 'Content-Type': 'text/plain' } });
		}
		log(`  engine loaded ${url.href} (${bytes.length} bytes)`);
		let body = bytes;
		if (fileName.toLowerCase().endsWith('.csv')) {
			const fixed = sanitizeCSVHeader(new TextDecoder().decode(bytes));
			if (fixed.renamed.length) {
				const w =
					`${fileName}: CSV column name(s) ${fixed.renamed.map(([a, b]) => `"${a}"->"${b}"`).join(', ')} ` +
					'are not XML names; @getodk/xforms-engine (ODK Web Forms) rejects them, renamed for the test (ODK Collect accepts them)';
				warnings.push(w);
				log(`  WARNING ${w}`);
				body = fixed.text;
			}
		}
		return new Response(body, { status: 200, headers: { 'Content-Type': contentTypeFor(fileName) } });
	};

	const loaded = await loadForm(formXML, { fetchFormAttachment });
	if (loaded.status === 'failure') {
		throw new Error(`engine could not load the form: ${loaded.error?.message ?? loaded.error}`);
	}
	if (loaded.warnings) log(`  engine warnings: ${JSON.stringify(loaded.warnings)}`);

	const instance = loaded.createInstance({
		preloadProperties: {
			deviceID: 'fill_and_submit.mjs',
			username: 'test-officer',
			email: 'test-officer@example.org',
			phoneNumber: '+8562055555555',
		},
	});
	const root = instance.root;
	if (root.languages.some((l) => l.language)) {
		log(`  languages: ${root.languages.map((l) => l.language).join(', ')} (active: ${root.currentState.activeLanguage.language})`);
	}

	const scenario = await loadAnswers(formID);
	if (scenario) log(`  answers file ${scenario.file} (${scenario.answers.size} question(s))`);
	const ctx = {
		answers: scenario?.answers ?? new Map(),
		usedAnswers: new Set(),
		answerErrors: [],
		skipped: new Set(),
		answered: new Map(),
		retries: new Map(),
		constraintFailures: new Set(),
		repeatsAdded: new Set(),
		fileNames: new Set(),
	};
	for (let pass = 1; pass <= 20; pass++) {
		const changed = fillPass(root, ctx);
		log(`  pass ${pass}: ${changed} change(s)`);
		if (changed === 0) break;
	}

	// Validation over the whole instance (relevant nodes only, as the engine does).
	const violations = root.validationState.violations.map((v) => ({
		reference: v.reference,
		condition: v.violation.condition,
		message: v.violation.message?.asString ?? null,
	}));

	const values = {};
	const choices = {};
	const attachments = [];
	for (const node of ctx.answered.values()) {
		if (!isEffectivelyRelevant(node)) continue; // not in the submission
		const v = node.currentState.instanceValue;
		values[node.currentState.reference] = v;
		if (node.nodeType === 'upload' && v) attachments.push(v);
		// The choices the officer was offered (for a list from a media file: the rows the server sent).
		if (node.nodeType === 'select') choices[node.currentState.reference] = node.currentState.valueOptions.map((o) => o.value);
	}
	const repeats = collectRepeats(root, {});
	if (scenario) {
		const unused = [...scenario.answers.keys()].filter((k) => !ctx.usedAnswers.has(k));
		if (unused.length) {
			const w = `answers file: not used (no such question, not relevant, or read-only): ${unused.join(', ')}`;
			warnings.push(w);
			log(`  WARNING ${w}`);
		}
	}

	const result = {
		formId: formID,
		version: entry.version,
		instanceID: null,
		status: null,
		values,
		choices,
		repeats,
		attachments,
	};
	if (scenario) {
		const rel = path.relative(process.cwd(), scenario.file);
		result.answersFile = rel && !rel.startsWith('..') ? rel : scenario.file;
	}
	if (warnings.length) result.warnings = warnings;

	if (ctx.answerErrors.length) {
		// The choices of a select whose answer could not be entered: the options offered are the evidence.
		for (const node of ctx.answered.values()) {
			if (node.nodeType === 'select') choices[node.currentState.reference] = node.currentState.valueOptions.map((o) => o.value);
		}
		result.error = `answers file values could not be entered: ${ctx.answerErrors.join('; ')}`;
		log(`  ERROR form ${formID}: ${result.error}`);
		if (violations.length) result.violations = violations;
		return result;
	}
	if (violations.length) {
		result.error = 'instance is invalid';
		result.violations = violations;
		log(`  ERROR form ${formID}: the filled instance is invalid, not submitting:`);
		for (const v of violations) log(`    ${v.reference}: ${v.condition}${v.message ? ` (${v.message})` : ''}`);
		return result;
	}

	const payload = await root.prepareInstancePayload();
	if (payload.status !== 'ready') {
		result.error = `payload status ${payload.status}`;
		result.violations = (payload.violations ?? []).map((v) => ({ reference: v.reference ?? v.fileName }));
		log(`  ERROR form ${formID}: prepareInstancePayload() returned ${payload.status}`);
		return result;
	}
	const data = payload.data[0];
	const xmlFile = data.get('xml_submission_file');
	const submissionXML = await xmlFile.text();
	const subDoc = parseXML(submissionXML, 'submission');
	result.instanceID = subDoc.getElementsByTagNameNS('*', 'instanceID')[0]?.textContent ?? null;
	log(`  instanceID ${result.instanceID}`);
	log(`  submission XML: ${submissionXML}`);

	// Multipart body as ODK clients send it: part "xml_submission_file" with the
	// instance XML, plus one part per attachment, named after its file name.
	const form = new FormData();
	form.append('xml_submission_file', new File([submissionXML], 'xml_submission_file.xml', { type: 'text/xml' }));
	const parts = [];
	for (const [name, value] of data.entries()) {
		if (name === 'xml_submission_file') continue;
		form.append(name, value, value.name ?? name);
		parts.push(`${name} (${value.size} bytes, ${value.type})`);
	}
	for (const a of attachments) {
		if (!data.has(a)) log(`  WARNING attachment ${a} referenced in the XML is missing from the payload`);
	}
	if (payload.submissionMeta?.submissionAction) {
		log(`  form declares submission action ${payload.submissionMeta.submissionAction} (ignored; posting to <base>/submission)`);
	}

	if (saveDir) {
		const file = path.join(saveDir, `${formID}.xml`);
		await writeFile(file, submissionXML);
		log(`  submission XML saved to ${file}`);
	}
	if (noSubmit) {
		log('  --no-submit: not posting');
		return result;
	}
	// Serialise to a Buffer first so the request has a Content-Length (not chunked).
	const req = new Request('http://localhost/', { method: 'POST', body: form });
	const body = Buffer.from(await req.arrayBuffer());
	const submissionUrl = `${BASE}/submission`;
	log(`  POST ${submissionUrl} (${body.length} bytes; parts: xml_submission_file${parts.length ? ', ' + parts.join(', ') : ''})`);
	const res = await fetch(submissionUrl, {
		method: 'POST',
		headers: {
			...OPENROSA_HEADERS,
			'Content-Type': req.headers.get('content-type'),
			Date: new Date().toUTCString(),
		},
		body,
		signal: AbortSignal.timeout(TIMEOUT_MS),
	});
	const resText = await res.text();
	result.status = res.status;
	log(`  -> HTTP ${res.status}: ${resText.replace(/\s+/g, ' ').slice(0, 500)}`);
	return result;
};

// ---------------------------------------------------------------------------
// Main
// ---------------------------------------------------------------------------
const main = async () => {
	const listUrl = `${BASE}/formList`;
	log(`GET ${listUrl}`);
	let forms;
	try {
		const res = await httpGet(listUrl);
		forms = parseFormList(new TextDecoder().decode(res.bytes));
	} catch (e) {
		log(`ERROR formList: ${e.message}${e.cause ? ` (${e.cause.code ?? e.cause.message ?? e.cause})` : ''}`);
		return 2;
	}
	log(`formList: ${forms.length} form(s): ${forms.map((f) => f.formID).join(', ')}`);
	if (onlyForms.size) {
		const missing = [...onlyForms].filter((id) => !forms.some((f) => f.formID === id));
		if (missing.length) {
			log(`ERROR forms not in formList: ${missing.join(', ')}`);
			return 2;
		}
		forms = forms.filter((f) => onlyForms.has(f.formID));
	}
	if (forms.length === 0) {
		log('ERROR formList is empty');
		return 2;
	}

	let allOk = true;
	for (const entry of forms) {
		let result;
		try {
			result = await processForm(entry);
		} catch (e) {
			const cause = e.cause ? ` (${e.cause.code ?? e.cause.message ?? e.cause})` : '';
			log(`ERROR form ${entry.formID}: ${e.message ?? e}${cause}`);
			if (process.env.DEBUG) log(e.stack);
			result = {
				formId: entry.formID,
				version: entry.version,
				instanceID: null,
				status: null,
				values: {},
				repeats: {},
				attachments: [],
				error: String(e.message ?? e),
			};
		}
		process.stdout.write(JSON.stringify(result) + '\n');
		const ok = noSubmit ? !result.error : result.status === 201;
		if (!ok) {
			allOk = false;
			log(`FAIL ${entry.formID}: ${result.error ?? `HTTP ${result.status}`}`);
		} else {
			log(`OK ${entry.formID}${noSubmit ? ' (not submitted)' : ': HTTP 201'}`);
		}
	}
	return allOk ? 0 : 1;
};

process.exitCode = await main();
