#include "app/cli/data_options.h"

#include <unistd.h>

#include <chrono>
#include <cstdio>

#include "core/common/error.h"

namespace qs::cli {

void add_data_options(CLI::App* cmd, DataOptions& o, bool data_required) {
  auto* d =
      cmd->add_option(
             "--data", o.data,
             "Images: IDX file (.gz ok), .npy, or a folder of PNG/JPEG (subfolders = classes); for a model "
             "whose input is not an image (rank other than 4), a .npy of shape (N, sample shape...). A model "
             "with several inputs takes one --data per input, NAME=PATH or in the inputs' order")
          ->allow_extra_args(false);
  if (data_required) d->required();
  cmd->add_option("--labels", o.labels, "Labels: IDX labels file or integer .npy");
  cmd->add_option("--mean", o.mean, "Mean per channel (one value or one per channel), after scaling")
      ->delimiter(',');
  cmd->add_option("--std", o.stddev, "Std-dev per channel (one value or one per channel)")->delimiter(',');
  cmd->add_option("--scale", o.scale, "Multiply source values by this first (default 1/255 for 8-bit data)");
  cmd->add_option("--limit", o.limit, "Use only the first N samples");
  cmd->add_option("--batch", o.batch, "Batch size")->check(CLI::PositiveNumber);
  cmd->add_option("--resize", o.resize, "Resize images to HxW (bilinear) before anything else");
  cmd->add_option("--resize-shorter", o.resize_shorter, "Resize the shorter side to N, then center crop");
  cmd->add_flag("--center-crop", o.center_crop, "Center-crop images larger than the model's input");
  cmd->add_flag("--bgr", o.bgr, "Feed channels in BGR order");
  cmd->add_option("--npy-layout", o.layout, "Layout of a rank-4 .npy: auto, nchw or nhwc")
      ->check(CLI::IsMember({"auto", "nchw", "nhwc"}));
}

std::vector<std::string> values_by_name(const std::vector<std::string>& values,
                                        const std::vector<std::string>& names, const std::string& option,
                                        const std::string& what) {
  std::vector<std::string> r(names.size());
  std::vector<std::string> plain;
  for (const auto& v : values) {
    const auto eq = v.find('=');
    size_t k = names.size();
    if (eq != std::string::npos)
      for (size_t i = 0; i < names.size(); ++i)
        if (names[i] == v.substr(0, eq)) k = i;
    if (k == names.size()) {
      plain.push_back(v);
      continue;
    }
    if (!r[k].empty()) throw Error(option + ": " + what + " '" + names[k] + "' is given twice");
    r[k] = v.substr(eq + 1);
  }
  size_t next = 0;
  for (const auto& p : plain) {
    while (next < r.size() && !r[next].empty()) ++next;
    if (next == r.size())
      throw Error(option + " '" + p + "': every " + what + " of the model already has a value (" +
                  std::to_string(names.size()) + " " + what + "(s))");
    r[next] = p;
  }
  return r;
}

std::vector<std::string> values_per_input(const std::vector<std::string>& values, const Graph& g,
                                          const std::string& option) {
  std::vector<std::string> names;
  for (const auto& in : g.inputs) names.push_back(in.name);
  const std::vector<std::string> paths = values_by_name(values, names, option, "input");
  for (size_t i = 0; i < paths.size(); ++i)
    if (paths[i].empty())
      throw Error("input '" + g.inputs[i].name + "' has no data: the model has " +
                  std::to_string(g.inputs.size()) + " inputs; give one " + option + " per input (e.g. " +
                  option + " " + g.inputs[i].name + "=FILE.npy)");
  return paths;
}

std::unique_ptr<Dataset> open_data(const DataOptions& o, const Graph& g) {
  if (g.inputs.empty()) throw Error("the model has no inputs to feed data to");
  const std::vector<std::string> paths = values_per_input(o.data, g, "--data");
  // What every input's configuration shares; configure_for_input then shapes it per input.
  DataConfig base;
  base.limit = o.limit;
  base.npy_layout = o.layout == "nchw"   ? NpyLayout::kNCHW
                    : o.layout == "nhwc" ? NpyLayout::kNHWC
                                         : NpyLayout::kAuto;
  if (!o.mean.empty()) base.pre.mean = o.mean;
  if (!o.stddev.empty()) base.pre.stddev = o.stddev;
  if (o.scale > 0) base.pre.scale = o.scale;
  if (!o.resize.empty()) {
    const auto x = o.resize.find('x');
    try {
      if (x == std::string::npos) throw std::invalid_argument(o.resize);
      base.pre.resize = ResizeMode::kStretch;
      base.pre.resize_height = std::stoll(o.resize.substr(0, x));
      base.pre.resize_width = std::stoll(o.resize.substr(x + 1));
    } catch (const std::exception&) {
      throw Error("--resize '" + o.resize + "': expected HxW, e.g. 224x224");
    }
  }
  if (o.resize_shorter > 0) {
    base.pre.resize = ResizeMode::kShorterSide;
    base.pre.resize_shorter = o.resize_shorter;
  }
  base.pre.center_crop = o.center_crop || o.resize_shorter > 0;
  base.pre.channel_order = o.bgr ? ChannelOrder::kBGR : ChannelOrder::kRGB;

  bool any_image = false;
  DataConfig first;
  for (size_t i = 0; i < g.inputs.size(); ++i) {
    DataConfig c = base;
    c.images = paths[i];
    if (i == 0) c.labels = o.labels;
    configure_for_input(c, g.inputs[i]);
    any_image = any_image || !c.tensors;
    if (i == 0)
      first = c;
    else
      first.more.emplace_back(g.inputs[i].name, c);
  }
  const bool preprocessing = !o.mean.empty() || !o.stddev.empty() || o.scale > 0 || !o.resize.empty() ||
                             o.resize_shorter > 0 || o.center_crop || o.bgr || o.layout != "auto";
  if (preprocessing && !any_image) {
    const ValueInfo& in = g.inputs[0];
    throw Error((g.inputs.size() == 1 ? "input '" + in.name + "' has rank " +
                                            std::to_string(in.shape->size()) + ", not an image"
                                      : std::string("no input of the model is an image")) +
                ": .npy data is fed as it is, and --mean, --std, --scale, --resize, --resize-shorter, "
                "--center-crop, --bgr and --npy-layout do not apply");
  }
  return open_dataset(first);
}

ProgressFn terminal_progress(const std::string& label) {
  if (!isatty(STDERR_FILENO)) return nullptr;
  auto start = std::make_shared<std::chrono::steady_clock::time_point>(std::chrono::steady_clock::now());
  return [label, start](int64_t done, int64_t total) {
    const double frac = total > 0 ? static_cast<double>(done) / static_cast<double>(total) : 1.0;
    const int width = 30, filled = static_cast<int>(frac * width);
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - *start).count();
    const double eta = frac > 0 ? secs / frac - secs : 0;
    std::fprintf(stderr, "\r%s [%s%s] %lld/%lld  %.0fs, ETA %.0fs ", label.c_str(),
                 std::string(filled, '#').c_str(), std::string(width - filled, '.').c_str(),
                 static_cast<long long>(done), static_cast<long long>(total), secs, eta);
    if (done >= total) std::fprintf(stderr, "\n");
    std::fflush(stderr);
    return true;
  };
}

}  // namespace qs::cli
