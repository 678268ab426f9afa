// Icons: the platform theme's where it has them (QIcon::fromTheme), else the style's standard pixmaps;
// the application icon is drawn in code so it is sharp at every device pixel ratio.
#pragma once

#include <QIcon>
#include <QStyle>

namespace qs::gui {

QIcon themedIcon(const char* theme_name, QStyle::StandardPixmap fallback);
QIcon appIcon();

}  // namespace qs::gui
