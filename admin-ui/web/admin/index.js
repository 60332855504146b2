// The admin pages, loaded by the shell (see ../README.md).
import overview from './overview.js';
import users from './users.js';
import plans from './plans.js';
import billing from './billing.js';
import settings from './settings.js';
import audit from './audit.js';
import userFiles from './user_files.js';

// The admin styles (a stylesheet of this origin: the CSP forbids inline styles).
if (!document.querySelector('link[data-admin-css]')) {
  const link = document.createElement('link');
  link.rel = 'stylesheet';
  link.href = '/ui/admin/admin.css';
  link.dataset.adminCss = '';
  document.head.append(link);
}

export default [overview, ...userFiles, ...users, plans, ...billing, settings, audit];
