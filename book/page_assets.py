"""What book/build.py adds to every page nbconvert exports: MathJax's configuration (offline fonts),
the check script that tests/test_book.py reads in headless Chromium, and the book's style."""

MATHJAX_CONFIG = """<script type="text/x-mathjax-config">
MathJax.Hub.Config({"HTML-CSS": {availableFonts: [], preferredFont: null, webFont: "STIX-Web", imageFont: null},
                    messageStyle: "none"});
</script>
"""
# Read by tests/test_book.py: images that failed to load, equations that failed to typeset (a TeX error
# becomes <merror>; an undefined macro, with MathJax's noUndefined extension, red text), once MathJax's
# first typeset has ended.
CHECK_SCRIPT = """<script>
(function () {
  function record() {
    var images = Array.prototype.slice.call(document.images);
    var broken = images.filter(function (i) { return !(i.complete && i.naturalWidth > 0); });
    var frames = Array.prototype.slice.call(document.querySelectorAll("[data-mathml]"));
    var bad = frames.filter(function (f) { return /<merror|mathcolor="red"/.test(f.getAttribute("data-mathml")); });
    var result = {images: images.length, broken_images: broken.map(function (i) { return i.src.slice(0, 120); }),
                  equations: document.querySelectorAll("script[type^='math/tex']").length,
                  typeset: document.querySelectorAll(".MathJax, .MathJax_Display, .MathJax_CHTML, .MathJax_SVG").length,
                  math_errors: Math.max(bad.length, document.querySelectorAll(".MathJax_Error, .mjx-merror").length),
                  mathjax: !!(window.MathJax && window.MathJax.Hub)};
    document.documentElement.setAttribute("data-book-check", JSON.stringify(result));
  }
  window.addEventListener("load", function () {
    if (window.MathJax && window.MathJax.Hub) {
      window.MathJax.Hub.Register.StartupHook("End", function () { window.MathJax.Hub.Queue(record); });
    } else { record(); }
  });
})();
</script>
"""
STYLE = """<style>
.book-nav {font-family: sans-serif; font-size: 14px; padding: 8px 16px; background: #f4f4f4;
           border-bottom: 1px solid #ddd; display: flex; gap: 24px; flex-wrap: wrap;}
.book-nav a {text-decoration: none;}
.book-page {max-width: 1100px; margin: 0 auto; padding: 16px; font-family: sans-serif; line-height: 1.5;}
.book-page table {border-collapse: collapse;} .book-page td, .book-page th {border: 1px solid #ccc; padding: 4px 10px;}
</style>
"""
