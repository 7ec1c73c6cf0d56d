// MathJax 3 settings for pymdownx.arithmatex (generic mode): typeset only the
// \( ... \) and \[ ... \] that arithmatex wrapped in class="arithmatex", and
// the $ ... $ and $$ ... $$ of the notebooks' markdown cells (Jupyter's way).
window.MathJax = {
  tex: {
    inlineMath: [["\\(", "\\)"], ["$", "$"]],
    displayMath: [["\\[", "\\]"], ["$$", "$$"]],
    processEscapes: true,
    processEnvironments: true,
  },
  options: {
    ignoreHtmlClass: ".+",  // skip every element with a class (and its content) ...
    processHtmlClass: "arithmatex|jp-RenderedMarkdown",  // ... except these: pages, notebook cells
  },
};

// Material's instant navigation swaps pages without a reload: typeset each one.
if (typeof document$ !== "undefined") {
  document$.subscribe(() => {
    if (window.MathJax.typesetPromise) {
      window.MathJax.typesetPromise();
    }
  });
}
