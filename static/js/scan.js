// Scan Code Verification: the rear camera scans continuously; a photo is decoded here too.
// Loaded only on the scanner page. Without JavaScript the page's forms work on their own.
const script = document.querySelector("script[data-qr-scanner]");
const tokenForm = document.getElementById("token-form");
const photoForm = document.getElementById("photo-form");
const camera = document.getElementById("camera");
const status = document.getElementById("camera-status");

function submitToken(text, method) {
  tokenForm.elements.token.value = text;
  tokenForm.elements.method.value = method;
  tokenForm.submit();
}

async function loadScanner() {
  const module = await import(script.dataset.qrScanner);
  return module.default;
}

async function startCamera(QrScanner) {
  if (!navigator.mediaDevices) return; // not a secure context: the fallbacks remain
  camera.hidden = false;
  const video = document.getElementById("camera-video");
  let done = false;
  const scanner = new QrScanner(video, (result) => {
    if (done) return;
    done = true;
    scanner.stop();
    submitToken(result.data, "camera");
  }, { returnDetailedScanResult: true, preferredCamera: "environment", maxScansPerSecond: 10 });
  try {
    await scanner.start();
  } catch (error) {
    status.textContent = status.dataset.failed || String(error);
  }
}

// Phone photos are large: decode downscaled copies (long side 800, 640, 480, 1024 px).
async function decodePhoto(QrScanner, file) {
  const bitmap = await createImageBitmap(file);
  const { width, height } = bitmap;
  for (const side of [800, 640, 480, 1024]) {
    const scale = Math.min(1, side / Math.max(width, height));
    try {
      const result = await QrScanner.scanImage(bitmap, {
        returnDetailedScanResult: true,
        scanRegion: { x: 0, y: 0, width, height,
                      downScaledWidth: Math.round(width * scale), downScaledHeight: Math.round(height * scale) },
      });
      return result.data;
    } catch (_) { /* try the next size */ }
  }
  return null;
}

loadScanner().then((QrScanner) => {
  startCamera(QrScanner);
  photoForm.addEventListener("submit", async (event) => {
    const file = photoForm.elements.photo.files[0];
    if (!file) return;
    event.preventDefault();
    const text = await decodePhoto(QrScanner, file).catch(() => null);
    if (text) submitToken(text, "photo");
    else photoForm.submit(); // let the server try, and say what it found
  });
  photoForm.elements.photo.addEventListener("change", () => photoForm.requestSubmit());
});
