"""End-to-end test of the browser app in a real headless Chromium.

Builds nothing: given a built daemon (SEGSLIMD or --segslimd), it starts
`segslimd --listen http://127.0.0.1:0`, reads the URL (with its token) from stderr, opens the
page, loads the demo model and its INT8 variant, segments a CamVid image through the page's
file input, switches variant and waits for the new answer, evaluates the demo samples (a
4-image CamVid val split shipped in Sources/segslim/Demo/samples) until the progress bar the
server drives reaches 100%, opens a compress report file, checks that a server error is shown,
and saves screenshots in light and dark themes.

    SEGSLIMD=.build/debug/segslimd python clients/web/test/test_web_e2e.py [--screenshots DIR]

Needs Selenium (clients/web/test/requirements.txt) and Debian's chromium + chromium-driver
(`.ci/web-tests.sh` installs both). CHROMIUM / CHROMEDRIVER override the binaries' paths.
"""

import argparse
import base64
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import unittest

from selenium import webdriver
from selenium.common.exceptions import TimeoutException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select, WebDriverWait

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
DEMO = os.path.join(REPO, "Sources", "segslim", "Demo")
FP32 = os.path.join(DEMO, "lraspp_mbv3_camvid.onnx")
INT8 = os.path.join(DEMO, "lraspp_mbv3_camvid.int8.onnx")
SAMPLES = os.path.join(DEMO, "samples")
IMAGE = os.path.join(SAMPLES, "images", "0016E5_07959.jpg")
REPORT = os.path.join(REPO, "tools", "demo_int8.report.json")
PRUNE_RESULTS = os.path.join(REPO, "benchmarks", "results", "prune_finetune_vs_torch-2026-12-05.json")
CAMVID = ["sky", "building", "pole", "road", "pavement", "tree", "sign_symbol", "fence", "car", "pedestrian", "bicyclist"]

# Long enough for a debug build on two cores (about 5 s an image); no test reads a duration.
SLOW = float(os.environ.get("SEGSLIM_WEB_TIMEOUT", "600"))
SCREENSHOTS = None  # set from --screenshots, or a temporary folder
SCALE = 1.0


class Daemon:
    """segslimd --listen http://127.0.0.1:0, its URL parsed from stderr, stderr kept for errors."""

    URL = re.compile(r"segslimd: serving (http://127\.0\.0\.1:\d+/\?token=[0-9A-Za-z]+)")

    def __init__(self, binary):
        self.log = []
        self.proc = subprocess.Popen([binary, "--listen", "http://127.0.0.1:0"], cwd=REPO,
                                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        found = threading.Event()
        self.url = None

        def drain():
            # Reads stderr to the end so a chatty daemon never blocks on a full pipe.
            for line in self.proc.stderr:
                self.log.append(line.rstrip("\n"))
                m = self.URL.search(line)
                if m and not found.is_set():
                    self.url = m.group(1)
                    found.set()
            found.set()

        threading.Thread(target=drain, daemon=True).start()
        if not found.wait(60) or self.url is None:
            self.stop()
            raise RuntimeError("segslimd printed no URL:\n" + "\n".join(self.log))

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def chromium():
    options = webdriver.ChromeOptions()
    options.binary_location = os.environ.get("CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                "--window-size=1400,1000", "--force-device-scale-factor=1", "--hide-scrollbars"):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver_path = os.environ.get("CHROMEDRIVER") or shutil.which("chromedriver") or "/usr/bin/chromedriver"
    # An explicit driver path: Selenium Manager never tries to download one.
    return webdriver.Chrome(service=Service(executable_path=driver_path), options=options)


class WebAppTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        binary = os.environ.get("SEGSLIMD")
        if not binary or not os.access(binary, os.X_OK):
            raise unittest.SkipTest("SEGSLIMD is not set to a built segslimd") if os.environ.get("CI") != "true" else RuntimeError(
                "SEGSLIMD is not set to a built segslimd")
        cls.daemon = Daemon(binary)
        try:
            cls.driver = chromium()
        except Exception:
            cls.daemon.stop()
            raise
        cls.driver.get(cls.daemon.url)
        cls.wait_for(cls, lambda d: d.find_element(By.ID, "conn-status").get_attribute("data-state") == "open", 30, "the page to connect")

    @classmethod
    def tearDownClass(cls):
        cls.driver.quit()
        cls.daemon.stop()

    # MARK: - helpers

    def wait_for(self, condition, timeout, what):
        try:
            return WebDriverWait(self.driver, timeout, poll_frequency=0.1).until(condition)
        except TimeoutException:
            toasts = [t.text for t in self.driver.find_elements(By.CSS_SELECTOR, ".toast")]
            raise AssertionError(f"timed out waiting for {what}; errors on the page: {toasts}; daemon log tail: {self.daemon.log[-8:]}")

    def el(self, css):
        return self.driver.find_element(By.CSS_SELECTOR, css)

    def click(self, css):
        """Clicks as a user would, with the element scrolled clear of the sticky top bar."""
        element = self.el(css)
        self.driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", element)
        element.click()

    def fill(self, css, text):
        field = self.el(css)
        field.clear()
        field.send_keys(text)

    def load_model(self, path, expect_id):
        self.fill("#load-form input[name=path]", path)
        self.click("#load-form button[type=submit]")
        self.wait_for(lambda d: d.find_element(By.ID, "models").get_attribute("data-loading") is None, SLOW, f"{path} to load")
        self.wait_for(lambda d: d.find_elements(By.CSS_SELECTOR, f'#variant-switch label[data-id="{expect_id}"]'), SLOW, f"{expect_id} in the variant switch")

    def choose_variant(self, model_id):
        self.click(f'#variant-switch label[data-id="{model_id}"]')
        self.wait_for(lambda d: d.find_element(By.CSS_SELECTOR, f'#variant-switch input[value="{model_id}"]').is_selected(), 10, f"{model_id} chosen")

    def answer_seq(self):
        return int(self.el("#seg-result").get_attribute("data-seq") or 0)

    def wait_answer(self, model_id, after_seq):
        def done(d):
            r = d.find_element(By.CSS_SELECTOR, "#seg-result")
            return int(r.get_attribute("data-seq") or 0) > after_seq and r.get_attribute("data-model") == model_id
        self.wait_for(done, SLOW, f"an answer from {model_id}")
        overlay = self.el("#seg-overlay")
        # The overlay is a real decoded PNG at the image's size (480×360 for CamVid).
        self.wait_for(lambda d: d.execute_script("return arguments[0].complete && arguments[0].naturalWidth", overlay) == 480, 10, "the overlay to decode")
        self.assertEqual(self.driver.execute_script("return arguments[0].naturalHeight", overlay), 360)
        self.assertEqual(self.el("#seg-served-by").text, model_id)
        self.assertRegex(self.el("#seg-latency").text, r"^\d+(\.\d+)? (ms|s)$")
        legend = self.driver.find_elements(By.CSS_SELECTOR, "#seg-legend li")
        names = [li.find_element(By.CSS_SELECTOR, ".legend-name").text for li in legend]
        fractions = [float(li.find_element(By.CSS_SELECTOR, ".legend-pct").text.rstrip("%")) for li in legend]
        return names, fractions

    def screenshot(self, name):
        """The whole page, scaled by --scale (DevTools' captureScreenshot beyond the viewport)."""
        width, height = self.driver.execute_script(
            "return [document.documentElement.scrollWidth, Math.ceil(document.documentElement.scrollHeight)]")
        shot = self.driver.execute_cdp_cmd("Page.captureScreenshot", {
            "format": "png", "captureBeyondViewport": True,
            "clip": {"x": 0, "y": 0, "width": width, "height": height, "scale": SCALE}})
        path = os.path.join(SCREENSHOTS, f"{name}.png")
        with open(path, "wb") as f:
            f.write(base64.b64decode(shot["data"]))
        return path

    def background_luminance(self):
        rgb = self.driver.execute_script("return getComputedStyle(document.body).backgroundColor")
        r, g, b = [int(x) for x in re.findall(r"\d+", rgb)[:3]]
        return (0.2126 * r + 0.7152 * g + 0.0722 * b) / 255

    def console_problems(self):
        """Browser console lines that mean the page itself broke: CSP refusals, script errors."""
        lines = [e["message"] for e in self.driver.get_log("browser")]
        return [m for m in lines if "Content Security Policy" in m or "Refused to" in m or "Uncaught" in m or "SyntaxError" in m]

    # MARK: - the test

    def test_page_end_to_end(self):
        d = self.driver
        self.assertTrue(self.el("#conn-status").text.startswith("connected"))
        self.assertNotIn("token=", d.current_url, "the token is taken out of the address bar")

        # Models: the FP32 demo model, then its INT8 variant (same family: its metadata names
        # the FP32 file as its source), shown in the light-mode switch.
        self.load_model(FP32, "lraspp_mbv3_camvid")
        self.load_model(INT8, "lraspp_mbv3_camvid.int8")
        kinds = {l.get_attribute("data-id"): l.get_attribute("data-kind") for l in d.find_elements(By.CSS_SELECTOR, "#variant-switch label")}
        self.assertEqual(kinds, {"lraspp_mbv3_camvid": "FP32", "lraspp_mbv3_camvid.int8": "INT8"})
        options = [o.get_attribute("value") for o in d.find_elements(By.CSS_SELECTOR, "#model-select option")]
        self.assertEqual(options, ["lraspp_mbv3_camvid"], "the INT8 file is a variant, not a second model")

        # Segment with FP32 through the file input (what a drop does too).
        self.choose_variant("lraspp_mbv3_camvid")
        seq = self.answer_seq()
        self.el("#image-input").send_keys(IMAGE)
        names, fractions = self.wait_answer("lraspp_mbv3_camvid", seq)
        self.assertIn("road", names)
        self.assertIn("sky", names)
        self.assertTrue(set(names) <= set(CAMVID), names)
        self.assertAlmostEqual(sum(fractions), 100.0, delta=0.1 * len(fractions) + 0.05)
        self.assertTrue(self.el("#seg-mask").get_attribute("src").startswith("data:image/png;base64,"))

        # The light-mode switch: INT8 answers the same image.
        seq = self.answer_seq()
        self.choose_variant("lraspp_mbv3_camvid.int8")
        names8, _ = self.wait_answer("lraspp_mbv3_camvid.int8", seq)
        self.assertIn("road", names8)
        rows = d.find_elements(By.CSS_SELECTOR, "#answers tbody tr")
        self.assertEqual(len(rows), 2)
        self.assertIn("lraspp_mbv3_camvid.int8", rows[0].text)
        self.assertIn("INT8", rows[0].text)

        # Evaluate the demo samples with the FP32 model; the bar follows $/progress to 100%.
        self.choose_variant("lraspp_mbv3_camvid")
        self.fill("#eval-form input[name=dataset]", SAMPLES)
        self.click("#eval-form button[type=submit]")
        self.wait_for(lambda d: d.find_element(By.ID, "evaluate").get_attribute("data-state") in ("done", "failed"), SLOW, "the evaluation")
        self.assertEqual(self.el("#evaluate").get_attribute("data-state"), "done", [t.text for t in d.find_elements(By.CSS_SELECTOR, ".toast")])
        seen = [int(x) for x in self.el("#eval-progress").get_attribute("data-seen").split(",")]
        self.assertEqual(seen[-1], 100, seen)
        self.assertEqual(seen, sorted(seen), "percentages never decrease")
        self.assertTrue(any(0 < p < 100 for p in seen), f"progress was reported between images: {seen}")
        self.assertEqual(self.el("#eval-progress").get_attribute("aria-valuenow"), "100")
        bars = d.find_elements(By.CSS_SELECTOR, "#eval-result .bar-row")
        self.assertEqual([b.find_element(By.CSS_SELECTOR, ".bar-label").text for b in bars], CAMVID)
        road = float(bars[CAMVID.index("road")].find_element(By.CSS_SELECTOR, ".bar-value").text.rstrip("%"))
        self.assertGreater(road, 80.0, "road is the easy class on CamVid")

        # A compress job: fuse the FP32 model; its report opens and the result joins the variants.
        Select(self.el("#job-form select[name=technique]")).select_by_value("fuse")
        self.fill("#job-form input[name=newId]", "lraspp-fused")
        self.fill("#job-form input[name=extra]", '{"benchmarkRuns": 0}')
        self.click("#job-form button[type=submit]")
        self.wait_for(lambda d: d.find_element(By.ID, "jobs").get_attribute("data-state") in ("done", "failed", "cancelled"), SLOW, "the fuse job")
        self.assertEqual(self.el("#jobs").get_attribute("data-state"), "done", [t.text for t in d.find_elements(By.CSS_SELECTOR, ".toast")])
        self.assertIn("lraspp-fused", self.el("#report-title").text)
        self.assertIn("fuse", self.el("#report-body").text)
        self.wait_for(lambda d: d.find_elements(By.CSS_SELECTOR, '#variant-switch label[data-id="lraspp-fused"]'), 30, "the fused model in the switch")
        self.assertEqual(self.el('#variant-switch label[data-id="lraspp-fused"]').get_attribute("data-kind"), "fuse")

        # A long job cancelled from the page: it answers RequestCancelled and leaves no model.
        Select(self.el("#job-form select[name=technique]")).select_by_value("quantize")
        self.fill("#job-form input[name=newId]", "lraspp-cancelled")
        self.fill("#job-form input[name=dataset]", SAMPLES)
        self.click("#job-form button[type=submit]")
        self.wait_for(lambda d: d.find_element(By.ID, "job-progress").get_attribute("data-seen")
                      or d.find_element(By.ID, "jobs").get_attribute("data-state") != "running", SLOW, "the quantize job to begin")
        self.assertEqual(self.el("#jobs").get_attribute("data-state"), "running", [t.text for t in d.find_elements(By.CSS_SELECTOR, ".toast")])
        self.click("#job-cancel")
        self.wait_for(lambda d: d.find_element(By.ID, "jobs").get_attribute("data-state") != "running", SLOW, "the cancel to be answered")
        self.assertEqual(self.el("#jobs").get_attribute("data-state"), "cancelled")
        self.assertEqual(self.el("#job-progress").get_attribute("data-ended"), "true", "the server ended the progress before answering")
        self.click("#models-refresh")
        self.wait_for(lambda d: d.find_element(By.ID, "models").get_attribute("data-refreshing") is None, 30, "the model list")
        ids = [l.get_attribute("data-id") for l in d.find_elements(By.CSS_SELECTOR, "#variant-switch label")]
        self.assertNotIn("lraspp-cancelled", ids)
        self.assertIn("lraspp-fused", ids)

        # A compress report from a file: before/after table and plots.
        self.el("#report-input").send_keys(REPORT)
        self.wait_for(lambda d: d.find_elements(By.CSS_SELECTOR, "#report-compare"), 10, "the report table")
        table = self.el("#report-compare").text
        self.assertIn("12.3 MiB", table)   # the FP32 file: 12873586 bytes
        self.assertIn("3.5 MiB", table)    # the INT8 file: 3659246 bytes
        titles = [t.text for t in d.find_elements(By.CSS_SELECTOR, "#report-body svg.plot .plot-title")]
        self.assertIn("Before → after", titles)
        self.assertTrue(any(t.startswith("Per-layer SQNR") for t in titles), titles)
        self.assertTrue(any(t.startswith("Per-class IoU") for t in titles), titles)

        # A benchmark's record with a prune + finetune report inside: per-layer sensitivity
        # and both training curves (ours and PyTorch's) are found and plotted.
        self.el("#report-input").send_keys(PRUNE_RESULTS)
        self.wait_for(lambda d: "prune_finetune" in d.find_element(By.ID, "report-title").text, 10, "the prune results")
        titles = [t.text for t in d.find_elements(By.CSS_SELECTOR, "#report-body svg.plot .plot-title")]
        self.assertTrue(any(t == "Per-layer sensitivity: mIoU drop (top 20 of 192)" for t in titles), titles)
        self.assertEqual(len([t for t in titles if t.startswith("Training loss")]), 2, titles)
        self.assertEqual(len([t for t in titles if t.startswith("Validation mIoU")]), 2, titles)
        table = self.el("#report-compare").text
        self.assertIn("1.32 G", table)
        self.assertIn("659.13 M", table)  # MACs after pruning: 659125488

        # A server error is shown with its code and message, and the page goes on working.
        missing = os.path.join(DEMO, "no-such-model.onnx")
        self.fill("#load-form input[name=path]", missing)
        self.click("#load-form button[type=submit]")
        toast = self.wait_for(lambda d: [t for t in d.find_elements(By.CSS_SELECTOR, ".toast") if "-33001" in t.text], 30, "the FileNotFound error")[0]
        self.assertIn("no-such-model.onnx", toast.text)
        toast.find_element(By.CSS_SELECTOR, ".toast-close").click()

        self.assertEqual(self.console_problems(), [])

        # Screenshots: light from the toggle, dark from the system's preference (toggle on auto).
        d.execute_script("window.scrollTo(0, 0)")
        toggle = self.el("#theme-toggle")
        while toggle.get_attribute("data-theme") != "light":
            toggle.click()
        self.assertGreater(self.background_luminance(), 0.7)
        light = self.screenshot("light")
        while toggle.get_attribute("data-theme") != "auto":
            toggle.click()
        d.execute_cdp_cmd("Emulation.setEmulatedMedia", {"features": [{"name": "prefers-color-scheme", "value": "dark"}]})
        self.assertLess(self.background_luminance(), 0.2)
        dark = self.screenshot("dark")
        for path in (light, dark):
            with open(path, "rb") as f:
                self.assertEqual(f.read(8), b"\x89PNG\r\n\x1a\n")
        print(f"\nscreenshots: {light} {dark}", file=sys.stderr)

        # Unloading from the resident table: the fused model leaves the switch and the list.
        self.click('#resident tr[data-id="lraspp-fused"] button')
        self.wait_for(lambda d: not d.find_elements(By.CSS_SELECTOR, '#variant-switch label[data-id="lraspp-fused"]'), 30, "the fused model to go")
        ids = [r.get_attribute("data-id") for r in d.find_elements(By.CSS_SELECTOR, "#resident tbody tr")]
        self.assertEqual(ids, ["lraspp_mbv3_camvid", "lraspp_mbv3_camvid.int8"])

    def test_tab_closed_mid_evaluation(self):
        """A tab closed while its evaluation runs: the daemon drops that connection (its
        request cancelled) and keeps serving the other tab."""
        d = self.driver
        first = d.current_window_handle
        self.load_model(FP32, "lraspp_mbv3_camvid")   # reuse: the resident one, if any
        self.choose_variant("lraspp_mbv3_camvid")
        d.switch_to.new_window("tab")
        try:
            d.get(self.daemon.url)
            self.wait_for(lambda d: d.find_element(By.ID, "conn-status").get_attribute("data-state") == "open", 30, "the second tab to connect")
            self.wait_for(lambda d: d.find_elements(By.CSS_SELECTOR, '#variant-switch label[data-id="lraspp_mbv3_camvid"]'), 30, "the model list")
            self.wait_for(lambda d: "2 connections" in d.find_element(By.ID, "server-facts").text, 30, "two connections")
            self.fill("#eval-form input[name=dataset]", SAMPLES)
            self.click("#eval-form button[type=submit]")
            self.wait_for(lambda d: d.find_element(By.ID, "eval-progress").get_attribute("data-seen"), SLOW, "the evaluation to begin")
            self.assertEqual(self.el("#evaluate").get_attribute("data-state"), "running")
        finally:
            d.close()
            d.switch_to.window(first)
        self.click("#models-refresh")
        self.wait_for(lambda d: "1 connection " in d.find_element(By.ID, "server-facts").text + " ", 30, "the closed tab's connection to go")
        seq = self.answer_seq()
        if not self.image_loaded():
            self.el("#image-input").send_keys(IMAGE)
        else:
            self.click("#seg-again")
        self.wait_answer("lraspp_mbv3_camvid", seq)
        self.assertIsNone(self.daemon.proc.poll(), "the daemon is still running")

    def image_loaded(self):
        return bool(self.el("#drop-zone .drop-file").text)


def main():
    global SCREENSHOTS, SCALE
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--segslimd", help="the built daemon (default: $SEGSLIMD)")
    parser.add_argument("--screenshots", help="keep the screenshots in this folder (default: a temporary one)")
    parser.add_argument("--scale", type=float, default=1.0, help="screenshot scale (0.5 makes them a quarter of the pixels)")
    args, rest = parser.parse_known_args()
    if args.segslimd:
        os.environ["SEGSLIMD"] = os.path.abspath(args.segslimd)
    SCALE = args.scale
    SCREENSHOTS = os.path.abspath(args.screenshots) if args.screenshots else tempfile.mkdtemp(prefix="segslim-web-")
    os.makedirs(SCREENSHOTS, exist_ok=True)
    program = unittest.main(argv=[sys.argv[0], "-v"] + rest, exit=False)
    result = program.result
    failed = len(result.failures) + len(result.errors)
    passed = result.testsRun - failed - len(result.skipped)
    # A plain closing line CI can read whatever runner it knows.
    print(f"web: {passed} passed, {failed} failed" + (f", {len(result.skipped)} skipped" if result.skipped else ""))
    sys.exit(0 if result.wasSuccessful() and result.testsRun > 0 else 1)


if __name__ == "__main__":
    main()
