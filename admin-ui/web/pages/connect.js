// Connect: the WebDAV address and steps per system, and S3 client configuration filled in with
// this server's address and the user's name.
import { el, heading, card, codeBlock, uid } from '../dom.js';

// Accessible tabs: arrow keys move between tabs (WAI-ARIA tabs pattern).
function tabs(label, items) {
  const list = el('div', {class: 'tabs', role: 'tablist', 'aria-label': label});
  const panels = [];
  const buttons = items.map((item, i) => {
    const tabId = uid('tab');
    const panelId = uid('panel');
    const btn = el('button', {type: 'button', role: 'tab', id: tabId, 'aria-controls': panelId,
      'aria-selected': i === 0 ? 'true' : 'false', tabindex: i === 0 ? '0' : '-1'}, item.title);
    panels.push(el('div', {role: 'tabpanel', id: panelId, 'aria-labelledby': tabId, hidden: i !== 0, tabindex: '0'}, item.body));
    return btn;
  });
  const select = (i) => buttons.forEach((b, j) => {
    b.setAttribute('aria-selected', String(i === j));
    b.tabIndex = i === j ? 0 : -1;
    panels[j].hidden = i !== j;
  });
  buttons.forEach((b, i) => {
    b.addEventListener('click', () => select(i));
    b.addEventListener('keydown', (ev) => {
      const d = ev.key === 'ArrowRight' ? 1 : ev.key === 'ArrowLeft' ? -1 : 0;
      if (!d) return;
      const n = (i + d + buttons.length) % buttons.length;
      select(n);
      buttons[n].focus();
    });
    list.append(b);
  });
  return el('div', list, panels);
}

function render(root, params, app) {
  const origin = app.origin;
  const host = window.location.host;
  const secure = window.location.protocol === 'https:';
  const dav = `${origin}/dav/`;
  const user = app.me.name;
  const toast = app.toast;

  root.append(heading('Connect'),
    el('p', {class: 'muted'}, 'Your storage is the same whichever way you reach it: a folder on your computer (WebDAV), an S3 client, or this console.'));

  const keysLink = el('a', {href: '/ui/keys'}, 'Access keys');
  const davSteps = [
    { title: 'Windows', body: [
      el('ol', {class: 'steps'},
        el('li', 'Open File Explorer, right-click ', el('strong', 'This PC'), ' and choose ', el('strong', 'Map network drive…'), '.'),
        el('li', 'Pick a drive letter and enter this folder:', codeBlock(dav, toast)),
        el('li', 'Tick ', el('strong', 'Connect using different credentials'), ', then ', el('strong', 'Finish'), '.'),
        el('li', `Sign in as ${user} with an app password (or your account password).`)),
      secure ? null : el('p', {class: 'alert alert-warn'}, 'Windows only sends passwords to WebDAV over HTTPS by default. Use the server\'s https:// address, or allow Basic authentication over HTTP in the WebClient service settings.'),
    ] },
    { title: 'macOS', body: el('ol', {class: 'steps'},
      el('li', 'In the Finder choose ', el('strong', 'Go → Connect to Server…'), ' (⌘K).'),
      el('li', 'Enter this address and click ', el('strong', 'Connect'), ':', codeBlock(dav, toast)),
      el('li', `Choose "Registered User" and sign in as ${user} with an app password.`)) },
    { title: 'Linux (davfs2)', body: [
      el('p', 'Install davfs2 and mount the folder:'),
      codeBlock(`sudo apt install davfs2\nsudo mkdir -p /mnt/depot\nsudo mount -t davfs ${dav} /mnt/depot -o uid=$(id -u),gid=$(id -g)`, toast),
      el('p', 'To mount without typing the password, add a line to ', el('code', '/etc/davfs2/secrets'), ':'),
      codeBlock(`${dav} ${user} YOUR-APP-PASSWORD`, toast),
      el('p', 'GNOME Files and KDE Dolphin also open ', el('code', `${secure ? 'davs' : 'dav'}://${host}/dav/`), ' directly.'),
    ] },
  ];
  root.append(card('Mount as a drive (WebDAV)',
    el('p', 'WebDAV address:'), codeBlock(dav, toast, 'Copy address'),
    el('p', 'User name: ', el('code', user), '. Create an app password on the ', el('a', {href: '/ui/keys'}, 'Access keys'), ' page.'),
    tabs('Operating system', davSteps)));

  const awsConfig = `# ~/.aws/credentials
[depot]
aws_access_key_id = YOUR-ACCESS-KEY-ID
aws_secret_access_key = YOUR-SECRET-ACCESS-KEY

# ~/.aws/config
[profile depot]
region = us-east-1
endpoint_url = ${origin}
s3 =
    addressing_style = path`;
  const awsUse = `aws --profile depot s3 ls
aws --profile depot s3 mb s3://${user}-files
aws --profile depot s3 cp ./photo.jpg s3://${user}-files/
# older aws CLI versions: add --endpoint-url ${origin}`;
  const rclone = `# ~/.config/rclone/rclone.conf
[depot]
type = s3
provider = Other
access_key_id = YOUR-ACCESS-KEY-ID
secret_access_key = YOUR-SECRET-ACCESS-KEY
endpoint = ${origin}
region = us-east-1
force_path_style = true`;
  const rcloneUse = `rclone lsd depot:
rclone copy ./photos depot:${user}-files/photos --progress`;
  const rcloneDav = `# or over WebDAV
[depot-dav]
type = webdav
url = ${dav}
vendor = other
user = ${user}
pass = (run: rclone obscure YOUR-APP-PASSWORD)`;
  root.append(card('S3 clients',
    el('p', 'Create an access key on the ', keysLink, ' page and put it in place of the placeholders. Endpoint: ', el('code', origin), '; any region name works; use path-style addressing.'),
    tabs('S3 client', [
      { title: 'aws CLI', body: [codeBlock(awsConfig, toast), codeBlock(awsUse, toast)] },
      { title: 'rclone', body: [codeBlock(rclone, toast), codeBlock(rcloneUse, toast), codeBlock(rcloneDav, toast)] },
    ])));
}

export default [{ path: '/ui/connect', title: 'Connect', render }];
