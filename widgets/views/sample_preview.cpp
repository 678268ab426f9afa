#include "widgets/views/sample_preview.h"

#include <QLabel>
#include <QLocale>
#include <QPainter>
#include <QVBoxLayout>
#include <algorithm>
#include <cmath>

#include "core/common/error.h"
#include "widgets/common/format.h"

namespace qs::ui {

SamplePreview::SamplePreview(QWidget* parent) : QWidget(parent) {
  auto* l = new QVBoxLayout(this);
  l->setContentsMargins(0, 0, 0, 0);
  l->addStretch(1);
  caption_ = new QLabel(this);
  caption_->setWordWrap(true);
  caption_->setTextInteractionFlags(Qt::TextSelectableByMouse);
  stats_ = new QLabel(this);
  stats_->setWordWrap(true);
  l->addWidget(caption_);
  l->addWidget(stats_);
  setMinimumSize(160, 200);
  clear(tr("Choose calibration data to preview a sample."));
}

QImage SamplePreview::toImage(const Tensor& t) {
  Tensor s = t;
  if (s.rank() == 4 && s.dim(0) == 1) s = s.reshaped({s.dim(1), s.dim(2), s.dim(3)});
  if (s.dtype() != DType::Float32 || s.rank() != 3)
    throw Error("preview needs a float32 [C, H, W] sample, got " + s.str());
  const int64_t C = s.dim(0), H = s.dim(1), W = s.dim(2);
  if (H <= 0 || W <= 0 || C <= 0) throw Error("preview of an empty sample " + s.str());
  const float* p = s.data<float>();
  const int64_t plane = H * W;
  // Per-channel min..max → 0..255 (each channel on its own scale, as normalization differs per channel).
  std::vector<float> lo(static_cast<size_t>(C)), span(static_cast<size_t>(C));
  for (int64_t c = 0; c < C; ++c) {
    const auto [mn, mx] = std::minmax_element(p + c * plane, p + (c + 1) * plane);
    lo[static_cast<size_t>(c)] = *mn;
    span[static_cast<size_t>(c)] = *mx - *mn;
  }
  auto level = [&](int64_t c, int64_t i) {
    const float sp = span[static_cast<size_t>(c)];
    const float v = sp > 0 ? (p[c * plane + i] - lo[static_cast<size_t>(c)]) / sp : 0.5f;
    return static_cast<int>(std::lround(std::clamp(v, 0.f, 1.f) * 255.f));
  };
  QImage img(static_cast<int>(W), static_cast<int>(H), QImage::Format_RGB32);
  for (int64_t y = 0; y < H; ++y)
    for (int64_t x = 0; x < W; ++x) {
      const int64_t i = y * W + x;
      int r, g, b;
      if (C >= 3) {
        r = level(0, i);
        g = level(1, i);
        b = level(2, i);
      } else {
        r = g = b = level(0, i);
      }
      img.setPixel(static_cast<int>(x), static_cast<int>(y), qRgb(r, g, b));
    }
  return img;
}

void SamplePreview::setSample(const Tensor& sample, const QString& caption) {
  // Samples of models whose input is not an image (tensor data, any rank or type) get their statistics
  // without a picture.
  const Tensor f = sample.dtype() == DType::Float32 ? sample : sample.cast(DType::Float32);
  try {
    image_ = toImage(f);
    empty_.clear();
  } catch (const Error&) {
    image_ = QImage();
    empty_ = tr("This sample is not an image (shape %1): its statistics are below.")
                 .arg(formatShape(sample.shape()));
  }
  const auto v = f.span<float>();
  double sum = 0, sq = 0;
  for (float x : v) {
    sum += x;
    sq += static_cast<double>(x) * x;
  }
  const double n = static_cast<double>(v.size());
  const double mean = sum / n, sd = std::sqrt(std::max(0.0, sq / n - mean * mean));
  const auto [mn, mx] = std::minmax_element(v.begin(), v.end());
  caption_->setText(caption);
  stats_->setText(tr("shape %1 · min %2 · max %3 · mean %4 · std %5")
                      .arg(formatShape(sample.shape()), QLocale().toString(*mn, 'g', 4),
                           QLocale().toString(*mx, 'g', 4), QLocale().toString(mean, 'g', 4),
                           QLocale().toString(sd, 'g', 4)));
  update();
}

void SamplePreview::clear(const QString& text) {
  image_ = QImage();
  empty_ = text;
  caption_->clear();
  stats_->clear();
  update();
}

void SamplePreview::paintEvent(QPaintEvent*) {
  QPainter p(this);
  const int text_h = caption_->isVisible() ? caption_->height() + stats_->height() + 8 : 0;
  const QRect area = rect().adjusted(4, 4, -4, -4 - text_h);
  if (image_.isNull()) {
    p.setPen(palette().color(QPalette::Disabled, QPalette::Text));
    p.drawText(area, Qt::AlignCenter | Qt::TextWordWrap, empty_);
    return;
  }
  // Integer scale factor when the image fits, so every source pixel is a same-size block.
  const double fit = std::min(area.width() / static_cast<double>(image_.width()),
                              area.height() / static_cast<double>(image_.height()));
  const double scale = fit >= 1 ? std::floor(fit) : fit;
  const QSize size(static_cast<int>(image_.width() * scale), static_cast<int>(image_.height() * scale));
  const QRect target(area.x() + (area.width() - size.width()) / 2,
                     area.y() + (area.height() - size.height()) / 2, size.width(), size.height());
  p.setRenderHint(QPainter::SmoothPixmapTransform, false);
  p.drawImage(target, image_);
  p.setPen(palette().color(QPalette::Mid));
  p.drawRect(target.adjusted(0, 0, -1, -1));
}

}  // namespace qs::ui
