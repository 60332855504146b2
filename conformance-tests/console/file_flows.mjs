// The user's file scenario through console-files' file browser (names from the comment at the
// top of admin-ui/web/files.js), with the admin checking the usage on their pages.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { adminUsageText } from './admin_flows.mjs';

// The user's usage as the admin sees it: on the admin's user page, or (before those pages
// exist) through the API that page uses.
async function adminUsage(ctx) {
  if (ctx.hasAdminPages) return adminUsageText(ctx.adminPage(), { BASE: ctx.BASE, USER: ctx.USER });
  const r = await ctx.admin.call('GET', `/api/v1/users/${ctx.USER}/usage`);
  if (r.status !== 200) throw new Error(`usage: ${r.status} ${r.text}`);
  console.log('# admin pages not served: usage read through the API');
  return { now: r.json.bytes_used, text: `${r.json.bytes_used} bytes (API)` };
}

export async function fileScenarios(ctx) {
  const { scenario, check, BASE, WORK, USER, PLAN_BYTES, shot, XSS } = ctx;
  const bucket = `${USER}-files`;
  const size = Math.floor(PLAN_BYTES * 0.6);
  const data = crypto.randomBytes(size);
  const sha = (b) => crypto.createHash('sha256').update(b).digest('hex');
  const fileA = path.join(WORK, 'report-a.bin');
  fs.writeFileSync(fileA, data);
  const fileB = path.join(WORK, 'too-big.bin');
  fs.writeFileSync(fileB, crypto.randomBytes(size));
  let page;
  let current = 'report-a.bin';

  await scenario('files-new-bucket', async () => {
    page = await ctx.userPage();
    await page.goto(`${BASE}/ui/files`);
    await page.getByRole('button', { name: 'New bucket' }).click();
    await page.getByLabel('Bucket name').fill(bucket);
    await page.getByRole('dialog').getByRole('button', { name: 'Create' }).click();
    await page.getByRole('dialog').waitFor({ state: 'detached' });
    // The bucket list shows it as a folder link (the page may also have opened it already).
    await page.goto(`${BASE}/ui/files`);
    await page.getByRole('link', { name: bucket, exact: true }).click();
    await page.getByRole('navigation', { name: 'Breadcrumb' }).getByText(bucket).waitFor();
    await shot(page, 'files-empty');
  });

  await scenario('files-upload-shows-progress', async () => {
    // Watch the progress bar's values as the browser reports them.
    await page.evaluate(() => {
      window.__progress = [];
      new MutationObserver((records) => {
        for (const r of records) {
          if (r.target.getAttribute && r.target.getAttribute('role') === 'progressbar') window.__progress.push(Number(r.target.getAttribute('aria-valuenow')));
        }
      }).observe(document.body, { subtree: true, attributes: true, attributeFilter: ['aria-valuenow'] });
    });
    await page.getByLabel('Files to upload').setInputFiles(fileA);
    const bar = page.getByRole('progressbar', { name: `Upload progress of ${current}` });
    await bar.waitFor();
    await page.getByRole('region', { name: 'Uploads' }).getByText('Uploaded').waitFor();
    check(await bar.getAttribute('aria-valuenow') === '100', 'the progress bar did not reach 100%');
    const seen = await page.evaluate(() => window.__progress);
    check(seen.length >= 1 && seen[seen.length - 1] === 100, `progress values: ${seen.join(',')}`);
    await page.getByRole('button', { name: `Rename ${current}` }).waitFor();
    await shot(page, 'files-uploaded');
  });

  await scenario('admin-sees-usage-change', async () => {
    const u = await adminUsage(ctx);
    check(u.now === size, `the admin sees ${u.now} bytes used (${u.text}), the upload was ${size}`);
    if (ctx.hasAdminPages) await shot(ctx.adminPage(), 'admin-user-detail');
  });

  await scenario('dashboard-over-quota-notice', async () => {
    // The admin lowers the user's quota below what is stored: the dashboard says what that means.
    const set = await ctx.admin.call('PATCH', `/api/v1/users/${USER}`, { quota_bytes_override: 1024 });
    check(set.status === 200, `quota override: ${set.status} ${set.text}`);
    try {
      await page.goto(`${BASE}/ui/`);
      await page.getByRole('alert').filter({ hasText: 'over its quota' }).waitFor();
      await shot(page, 'dashboard-over-quota');
    } finally {
      await ctx.admin.call('PATCH', `/api/v1/users/${USER}`, { quota_bytes_override: null });
    }
    await page.goto(`${BASE}/ui/files/${bucket}`);
    await page.getByRole('button', { name: `Rename ${current}` }).waitFor();
  });

  await scenario('files-upload-over-quota-message', async () => {
    await page.getByLabel('Files to upload').setInputFiles(fileB);
    const alert = page.getByRole('alert').filter({ hasText: 'Not enough space' }).first();
    await alert.waitFor();
    check(/too-big\.bin/.test(await alert.textContent()), 'the message does not name the file');
    await shot(page, 'files-over-quota');
    // Nothing of it was stored.
    await page.reload();
    await page.getByRole('button', { name: `Rename ${current}` }).waitFor();
    check(await page.getByText('too-big.bin').count() === 0, 'the refused file is listed');
  });

  await scenario('files-rename-shows-names-as-text', async () => {
    const next = `${XSS}.bin`;
    await page.getByRole('button', { name: `Rename ${current}` }).click();
    await page.getByLabel('New name').fill(next);
    await page.getByRole('dialog').getByRole('button', { name: 'Rename' }).click();
    await page.getByRole('button', { name: `Rename ${next}` }).waitFor();
    current = next;
    await page.getByText(next, { exact: true }).first().waitFor();
    check(await page.evaluate(() => window.__xss) === undefined, 'the file name ran as HTML');
    check(await page.locator('img[src="x"]').count() === 0, 'the file name became an <img>');
  });

  await scenario('files-download-hash', async () => {
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.getByRole('link', { name: `Download ${current}` }).click(),
    ]);
    const saved = path.join(WORK, 'downloaded.bin');
    await download.saveAs(saved);
    check(sha(fs.readFileSync(saved)) === sha(data), 'the downloaded bytes differ from the upload');
  });

  await scenario('admin-browses-user-files', async () => {
    if (!ctx.hasAdminPages) throw new Error('admin pages not served');
    const admin = ctx.adminPage();
    await admin.goto(`${BASE}/ui/admin/users/${encodeURIComponent(USER)}`);
    await admin.getByRole('link', { name: bucket, exact: true }).click();
    await admin.getByRole('link', { name: `Download ${current}` }).waitFor();
    check(await admin.locator('img[src="x"]').count() === 0, 'the file name became an <img> on the admin page');
    const [download] = await Promise.all([
      admin.waitForEvent('download'),
      admin.getByRole('link', { name: `Download ${current}` }).click(),
    ]);
    const saved = path.join(WORK, 'admin-downloaded.bin');
    await download.saveAs(saved);
    check(sha(fs.readFileSync(saved)) === sha(data), 'the admin downloaded other bytes');
    check(await admin.getByRole('button', { name: /Delete|Rename|Upload/ }).count() === 0, 'the admin view offers changes');
    await shot(admin, 'admin-user-files');
  });

  await scenario('files-delete', async () => {
    await page.getByRole('button', { name: `Delete ${current}` }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Delete' }).click();
    await page.getByRole('button', { name: `Delete ${current}` }).waitFor({ state: 'detached' });
    const u = await adminUsage(ctx);
    check(u.now === 0, `after the delete the admin sees ${u.now} bytes used`);
  });
}
