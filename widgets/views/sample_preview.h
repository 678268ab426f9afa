// SamplePreview: one preprocessed sample exactly as the model receives it ([C, H, W] float32 after
// resize, crop, channel order and normalization), drawn with its value range mapped to black..white
// (1 channel) or per-channel to RGB (3 channels, in the model's channel order), scaled up without
// smoothing so pixels stay visible, with its shape and value statistics.
#pragma once

#include <QImage>
#include <QWidget>

#include "core/tensor/tensor.h"

class QLabel;

namespace qs::ui {

class SamplePreview : public QWidget {
  Q_OBJECT

 public:
  explicit SamplePreview(QWidget* parent = nullptr);
  // `sample`: float32 [C, H, W] or [1, C, H, W]. `caption`: where it comes from.
  void setSample(const Tensor& sample, const QString& caption);
  void clear(const QString& text);
  const QImage& image() const { return image_; }

  // The image a [C, H, W] float32 tensor is drawn as (exposed for tests). Throws qs::Error for other shapes.
  static QImage toImage(const Tensor& chw);

 protected:
  void paintEvent(QPaintEvent* e) override;

 private:
  QImage image_;
  QLabel* caption_;
  QLabel* stats_;
  QString empty_;
};

}  // namespace qs::ui
