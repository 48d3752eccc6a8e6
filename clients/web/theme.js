// Light and dark themes: the system's choice (prefers-color-scheme) unless the toggle has
// picked one; the choice is kept in localStorage. The CSS does the rest (data-theme on <html>).

const ORDER = ['auto', 'light', 'dark'];
const LABEL = { auto: 'Theme: system', light: 'Theme: light', dark: 'Theme: dark' };

export function currentTheme() {
  const t = localStorage.getItem('segslim-theme');
  return ORDER.includes(t) ? t : 'auto';
}

export function applyTheme(theme, button) {
  if (theme === 'auto') delete document.documentElement.dataset.theme;
  else document.documentElement.dataset.theme = theme;
  if (button) {
    button.textContent = LABEL[theme];
    button.dataset.theme = theme;
  }
}

export function initTheme(button) {
  applyTheme(currentTheme(), button);
  button.addEventListener('click', () => {
    const next = ORDER[(ORDER.indexOf(currentTheme()) + 1) % ORDER.length];
    localStorage.setItem('segslim-theme', next);
    applyTheme(next, button);
  });
}
