// The admin part of the scenario, through console-admin's pages (admin-ui/web/admin/README.md
// lists the names used here).

export async function adminCreatesPlanAndUser(page, { BASE, PLAN, PLAN_BYTES, USER, USER_PW, shot }) {
  await page.goto(`${BASE}/ui/admin/plans`);
  await page.getByRole('heading', { name: 'Plans', level: 1 }).waitFor();
  await page.getByRole('button', { name: 'New plan' }).click();
  const planForm = page.getByRole('form', { name: 'New plan' });
  await planForm.getByLabel('Name').fill(PLAN);
  await planForm.getByLabel('Quota (GiB)').fill(String(PLAN_BYTES / 1024 ** 3));
  await planForm.getByLabel('Public (users can choose it)').uncheck();
  await planForm.getByRole('button', { name: 'Create plan' }).click();
  await page.getByText('Plan created').waitFor();
  await page.getByRole('cell', { name: PLAN, exact: true }).waitFor();
  await shot(page, 'admin-plans');

  await page.goto(`${BASE}/ui/admin/users`);
  const form = page.getByRole('form', { name: 'Create user' });
  await form.getByLabel('Name').fill(USER);
  await form.getByLabel('Email').fill(`${USER}@example.com`);
  await form.getByLabel('Password').fill(USER_PW);
  await form.getByLabel('Plan').selectOption(PLAN);
  await form.getByRole('button', { name: 'Create user' }).click();
  await page.getByText(`User ${USER} created`).waitFor();
  await page.getByLabel('Search users').fill(USER);
  await page.getByLabel('Search users').press('Enter');
  await page.getByRole('link', { name: USER, exact: true }).waitFor();
  await shot(page, 'admin-users');
}

// Usage of USER as the admin's user page shows it ("X of Y used (n%)" under the meter).
export async function adminUsageText(page, { BASE, USER }) {
  await page.goto(`${BASE}/ui/admin/users/${encodeURIComponent(USER)}`);
  await page.getByRole('heading', { name: USER, level: 1 }).waitFor();
  const meter = page.getByRole('meter', { name: 'Storage used' });
  await meter.waitFor();
  return { now: Number(await meter.getAttribute('aria-valuenow')), text: await meter.getAttribute('aria-valuetext') };
}

export async function adminScreenshots(page, { BASE, shot }) {
  for (const [url, name, heading] of [['/ui/admin', 'admin-overview', 'Overview'], ['/ui/admin/billing', 'admin-billing', 'Billing events'],
    ['/ui/admin/settings', 'admin-settings', 'Settings'], ['/ui/admin/audit', 'admin-audit', 'Audit log']]) {
    await page.goto(BASE + url);
    await page.getByRole('heading', { name: heading, level: 1 }).waitFor();
    await page.waitForLoadState('networkidle').catch(() => {});
    await shot(page, name);
  }
}
