// Keyline console: small progressive enhancements; every page works without this script.
'use strict';
document.addEventListener('submit', (e) => {
  // One click, one action: a slow answer must not invite a second submission.
  const button = e.target.querySelector('button[type="submit"]');
  if (button) setTimeout(() => { button.disabled = true; button.setAttribute('aria-busy', 'true'); }, 0);
});
