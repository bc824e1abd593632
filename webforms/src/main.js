// Mounts ODK Web Forms on the page the server rendered (collector/console/templates/console/fill/*.html).
//
// The page names, on #webform, where the form's XML, its media and the submission go; the submission is
// posted as ODK Collect posts it (multipart: xml_submission_file and the files), so the server stores it
// through the same write path. Messages come from the page, in its language.
import { OdkWebForm, POST_SUBMIT__NEW_INSTANCE, webFormsPlugin } from '@getodk/web-forms';
import { createApp, h } from 'vue';

const host = document.getElementById('webform');
const status = document.getElementById('webform-status');
const data = host.dataset;

function say(text, kind) {
  status.textContent = text;
  status.dataset.kind = kind;
}

// The last part of a jr:// address is the media file's name, as the form's manifest lists it.
function attachmentName(url) {
  const path = url instanceof URL ? url.pathname : new URL(String(url)).pathname;
  return decodeURIComponent(path.split('/').pop() || '');
}

async function fetchAttachment(url) {
  const response = await fetch(data.attachmentsUrl + encodeURIComponent(attachmentName(url)), {
    credentials: 'same-origin',
  });
  // Web Forms reads the media type without a space before the charset.
  const type = (response.headers.get('content-type') || '').replace('; charset', ';charset');
  const headers = new Headers(response.headers);
  if (type) headers.set('content-type', type);
  return new Response(await response.blob(), { status: response.status, statusText: response.statusText, headers });
}

function serverMessage(text) {
  try {
    const doc = new DOMParser().parseFromString(text, 'application/xml');
    const node = doc.getElementsByTagName('message')[0];
    return node ? node.textContent.trim() : '';
  } catch {
    return '';
  }
}

async function submit(payload, callback) {
  if (payload.status !== 'ready') {
    say(data.msgInvalid, 'error');
    return;
  }
  const [instance] = payload.data;
  const body = new FormData();
  body.append('xml_submission_file', instance.instanceFile, 'xml_submission_file.xml');
  for (const file of instance.attachments) body.append(file.name, file, file.name);
  const headers = { 'X-OpenRosa-Version': '1.0' };
  if (data.csrf) headers['X-CSRF-Token'] = data.csrf;
  say(data.msgSending, 'busy');
  let response;
  try {
    response = await fetch(data.submitUrl, { method: 'POST', body, headers, credentials: 'same-origin' });
  } catch {
    // Nothing left this browser, or the answer was lost: the answers stay on the page to send again.
    say(data.msgOffline, 'error');
    return;
  }
  const text = await response.text();
  if (response.status === 201) {
    say(`${data.msgSent} ${serverMessage(text)}`.trim(), 'done');
    callback({ next: POST_SUBMIT__NEW_INSTANCE });
    return;
  }
  const detail = serverMessage(text);
  say(`${data.msgRefused} (${response.status})${detail ? ' ' + detail : ''}`, 'error');
}

async function start() {
  let xml;
  try {
    const response = await fetch(data.formUrl, { credentials: 'same-origin' });
    if (!response.ok) throw new Error(String(response.status));
    xml = await response.text();
  } catch {
    say(data.msgNoForm, 'error');
    return;
  }
  const app = createApp({
    render: () => h(OdkWebForm, { formXml: xml, fetchFormAttachment: fetchAttachment, onSubmit: submit }),
  });
  app.use(webFormsPlugin);
  app.mount(host);
  host.dataset.ready = 'true';
  say('', 'ready');
}

start();
