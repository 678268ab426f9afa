<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE TS>
<TS version="2.1" language="zh_CN">
<context>
    <name>main</name>
    <message>
        <source>See where quantization hurts a neural network, layer by layer, and fix it.</source>
        <translation>逐层查看量化在哪里损害神经网络，并加以修复。</translation>
    </message>
    <message>
        <source>An ONNX model, a project (.qsproj) or a plan to open.</source>
        <translation>要打开的 ONNX 模型、项目（.qsproj）或量化方案。</translation>
    </message>
    <message>
        <source>Render the window (or --view) to a PNG and exit.</source>
        <translation>将窗口（或 --view 指定的视图）渲染为 PNG 后退出。</translation>
    </message>
    <message>
        <source>With --screenshot: the view to render (window, layers, data, quantize, distributions, channels, collapse, results, compare, history, log).</source>
        <translation>与 --screenshot 一起使用：要渲染的视图（window、layers、data、quantize、distributions、channels、collapse、results、compare、history、log）。</translation>
    </message>
    <message>
        <source>Interface language (en, zh_CN).</source>
        <translation>界面语言（en、zh_CN）。</translation>
    </message>
    <message>
        <source>With --screenshot: run these jobs after calibrate, analyze and evaluate (comma-separated: sensitivity, gptq, obq, eptq, mixed, repvgg).</source>
        <translation>与 --screenshot 一起使用：在校准、分析和评估之后运行这些任务（逗号分隔：sensitivity、gptq、obq、eptq、mixed、repvgg）。</translation>
    </message>
</context>
<context>
    <name>qs::gui::CollapsePanel</name>
    <message>
        <source>Analyze the plan to see the error along the network.</source>
        <translation>分析量化方案以查看沿网络的误差。</translation>
    </message>
    <message numerus="yes">
        <source>Model output: SQNR %1, top-1 agreement with float %2 over %n sample(s).</source>
        <translation>
            <numerusform>模型输出：SQNR %1，在 %n 个样本上与浮点模型的 top-1 一致率 %2。</numerusform>
        </translation>
    </message>
    <message>
        <source>The cumulative SQNR falls most at %1.</source>
        <translation>累积 SQNR 在 %1 处下降最多。</translation>
    </message>
</context>
<context>
    <name>qs::gui::ComparePanel</name>
    <message>
        <source>Differences only</source>
        <translation>仅显示差异</translation>
    </message>
    <message>
        <source>Open a model and calibrate to compare plans.</source>
        <translation>打开模型并校准后即可比较方案。</translation>
    </message>
    <message>
        <source>A</source>
        <translation>A</translation>
    </message>
    <message>
        <source>B</source>
        <translation>B</translation>
    </message>
    <message>
        <source>Plan B is not set: take a snapshot of the current plan or load a plan file.</source>
        <translation>尚未设置方案 B：为当前方案创建快照，或加载方案文件。</translation>
    </message>
    <message numerus="yes">
        <source>A = the plan being edited; B = %1. %n tensor(s) differ.</source>
        <translation>
            <numerusform>A = 正在编辑的方案；B = %1。%n 个张量不同。</numerusform>
        </translation>
    </message>
</context>
<context>
    <name>qs::gui::DataPanel</name>
    <message>
        <source>IDX (.gz), .npy, image folder or image</source>
        <translation>IDX（.gz）、.npy、图像文件夹或图像</translation>
    </message>
    <message>
        <source>labeled images for top-1</source>
        <translation>用于 top-1 的带标签图像</translation>
    </message>
    <message>
        <source>IDX labels or integer .npy (not for class folders)</source>
        <translation>IDX 标签或整数 .npy（类别文件夹无需）</translation>
    </message>
    <message>
        <source>Calibration:</source>
        <translation>校准：</translation>
    </message>
    <message>
        <source>Calibration images</source>
        <translation>校准图像</translation>
    </message>
    <message>
        <source>Evaluation:</source>
        <translation>评估：</translation>
    </message>
    <message>
        <source>Evaluation images</source>
        <translation>评估图像</translation>
    </message>
    <message>
        <source>Labels:</source>
        <translation>标签：</translation>
    </message>
    <message>
        <source>Evaluation labels</source>
        <translation>评估标签</translation>
    </message>
    <message>
        <source>Preprocessing</source>
        <translation>预处理</translation>
    </message>
    <message>
        <source>auto (1/255 for 8-bit data)</source>
        <translation>自动（8 位数据为 1/255）</translation>
    </message>
    <message>
        <source>Source values are multiplied by this first</source>
        <translation>源数据首先乘以该值</translation>
    </message>
    <message>
        <source>One value, or one per channel, after scaling</source>
        <translation>一个值，或每个通道一个值（缩放之后）</translation>
    </message>
    <message>
        <source>One value, or one per channel</source>
        <translation>一个值，或每个通道一个值</translation>
    </message>
    <message>
        <source>Scale:</source>
        <translation>缩放：</translation>
    </message>
    <message>
        <source>Mean:</source>
        <translation>均值：</translation>
    </message>
    <message>
        <source>Std:</source>
        <translation>标准差：</translation>
    </message>
    <message>
        <source>none</source>
        <translation>无</translation>
    </message>
    <message>
        <source>stretch to H×W</source>
        <translation>拉伸到 H×W</translation>
    </message>
    <message>
        <source>shorter side, then center crop</source>
        <translation>按短边缩放，再中心裁剪</translation>
    </message>
    <message>
        <source>Resize:</source>
        <translation>调整大小：</translation>
    </message>
    <message>
        <source>auto</source>
        <translation>自动</translation>
    </message>
    <message>
        <source>shorter:</source>
        <translation>短边：</translation>
    </message>
    <message>
        <source>Size:</source>
        <translation>尺寸：</translation>
    </message>
    <message>
        <source>Center-crop to the model&apos;s input</source>
        <translation>中心裁剪到模型输入尺寸</translation>
    </message>
    <message>
        <source>RGB</source>
        <translation>RGB</translation>
    </message>
    <message>
        <source>BGR</source>
        <translation>BGR</translation>
    </message>
    <message>
        <source>Channel order:</source>
        <translation>通道顺序：</translation>
    </message>
    <message>
        <source>.npy layout:</source>
        <translation>.npy 布局：</translation>
    </message>
    <message>
        <source>Sample as the model sees it</source>
        <translation>模型所见的样本</translation>
    </message>
    <message>
        <source>calibration</source>
        <translation>校准</translation>
    </message>
    <message>
        <source>evaluation</source>
        <translation>评估</translation>
    </message>
    <message>
        <source>sample </source>
        <translation>样本 </translation>
    </message>
    <message>
        <source>File…</source>
        <translation>文件…</translation>
    </message>
    <message>
        <source>Choose a file</source>
        <translation>选择文件</translation>
    </message>
    <message>
        <source>Folder…</source>
        <translation>文件夹…</translation>
    </message>
    <message>
        <source>Choose a folder of images (one subfolder per class gives labels)</source>
        <translation>选择图像文件夹（每个类别一个子文件夹即提供标签）</translation>
    </message>
    <message>
        <source>Data (*.gz *.npy *-ubyte *.idx *.png *.jpg *.jpeg *.bmp *.pgm *.ppm);;All files (*)</source>
        <translation>数据 (*.gz *.npy *-ubyte *.idx *.png *.jpg *.jpeg *.bmp *.pgm *.ppm);;所有文件 (*)</translation>
    </message>
    <message>
        <source>Scale</source>
        <translation>缩放</translation>
    </message>
    <message>
        <source>Scale: one number</source>
        <translation>缩放：需要一个数值</translation>
    </message>
    <message>
        <source>Mean</source>
        <translation>均值</translation>
    </message>
    <message>
        <source>Std</source>
        <translation>标准差</translation>
    </message>
    <message>
        <source>Choose %1 data to preview a sample.</source>
        <translation>选择%1数据以预览样本。</translation>
    </message>
    <message>
        <source>Open a model first: the preview shows samples shaped for its input.</source>
        <translation>请先打开模型：预览按模型输入的形状显示样本。</translation>
    </message>
    <message numerus="yes">
        <source>%1 · %n sample(s)</source>
        <translation>
            <numerusform>%1 · %n 个样本</numerusform>
        </translation>
    </message>
    <message>
        <source> · labeled</source>
        <translation> · 带标签</translation>
    </message>
    <message>
        <source>Files</source>
        <translation>文件</translation>
    </message>
    <message>
        <source>Feeds input &apos;%1&apos;; the other inputs have rows of their own</source>
        <translation>供给输入 &apos;%1&apos;；其他输入各有自己的一行</translation>
    </message>
    <message>
        <source>.npy (or images) for input &apos;%1&apos;, one sample per sample of &apos;%2&apos;</source>
        <translation>输入 &apos;%1&apos; 的 .npy（或图像），与 &apos;%2&apos; 的样本一一对应</translation>
    </message>
    <message>
        <source>Evaluation data of input &apos;%1&apos;</source>
        <translation>输入 &apos;%1&apos; 的评估数据</translation>
    </message>
    <message>
        <source>Calibration data of input &apos;%1&apos;</source>
        <translation>输入 &apos;%1&apos; 的校准数据</translation>
    </message>
    <message>
        <source>Evaluation, &apos;%1&apos;:</source>
        <translation>评估，&apos;%1&apos;：</translation>
    </message>
    <message>
        <source>Calibration, &apos;%1&apos;:</source>
        <translation>校准，&apos;%1&apos;：</translation>
    </message>
</context>
<context>
    <name>qs::gui::DistributionsPanel</name>
    <message>
        <source>Log scale</source>
        <translation>对数刻度</translation>
    </message>
    <message>
        <source>Logarithmic count axis: shows the sparse tails that clipping cuts off</source>
        <translation>对数计数轴：显示被截断的稀疏尾部</translation>
    </message>
    <message>
        <source>Per-channel statistics appear for weights quantized per channel.</source>
        <translation>按通道量化的权重会显示逐通道统计。</translation>
    </message>
    <message>
        <source>Open a model to see its distributions.</source>
        <translation>打开模型以查看其分布。</translation>
    </message>
    <message>
        <source>This row has no weight.</source>
        <translation>此行没有权重。</translation>
    </message>
    <message>
        <source>This row has no activation point.</source>
        <translation>此行没有激活量化点。</translation>
    </message>
    <message>
        <source>Select a layer to see its distributions.</source>
        <translation>选择一层以查看其分布。</translation>
    </message>
    <message>
        <source>Choose calibration data in the Data panel to see activation distributions.</source>
        <translation>在“数据”面板中选择校准数据以查看激活分布。</translation>
    </message>
    <message>
        <source>Reading %1…</source>
        <translation>正在读取 %1…</translation>
    </message>
    <message>
        <source>Weights: %1</source>
        <translation>权重：%1</translation>
    </message>
    <message>
        <source>Activations: %1</source>
        <translation>激活：%1</translation>
    </message>
    <message>
        <source>%1 bits</source>
        <translation>%1 位</translation>
    </message>
    <message>
        <source>float</source>
        <translation>浮点</translation>
    </message>
    <message>
        <source>per tensor</source>
        <translation>逐张量</translation>
    </message>
    <message>
        <source>per channel</source>
        <translation>逐通道</translation>
    </message>
    <message>
        <source>not in a plan yet (calibrate)</source>
        <translation>尚未在方案中（请校准）</translation>
    </message>
    <message>
        <source>range %1</source>
        <translation>范围 %1</translation>
    </message>
    <message>
        <source>isolated SQNR %1 (dragging)</source>
        <translation>单独 SQNR %1（拖动中）</translation>
    </message>
    <message>
        <source>isolated SQNR %1</source>
        <translation>单独 SQNR %1</translation>
    </message>
    <message>
        <source>clipped %1</source>
        <translation>截断 %1</translation>
    </message>
    <message numerus="yes">
        <source>%n sample(s)</source>
        <translation>
            <numerusform>%n 个样本</numerusform>
        </translation>
    </message>
    <message>
        <source>Per-channel weights: %1</source>
        <translation>逐通道权重：%1</translation>
    </message>
    <message>
        <source>%1 is quantized per tensor: one scale for all channels.</source>
        <translation>%1 按张量量化：所有通道共用一个缩放因子。</translation>
    </message>
    <message>
        <source>Cannot set the clip range</source>
        <translation>无法设置截断范围</translation>
    </message>
</context>
<context>
    <name>qs::gui::Eptq</name>
    <message>
        <source>Run EPTQ to see its loss curve.</source>
        <translation>运行 EPTQ 以查看其损失曲线。</translation>
    </message>
    <message>
        <source>%1 iterations in %2 s%3: distillation loss of the hard rounding %4 (round-to-nearest %5), best at iteration %6; %7 of %8 weights rounded differently from nearest.</source>
        <translation>%1 次迭代，用时 %2 秒%3：硬舍入的蒸馏损失 %4（就近舍入 %5），最佳出现在第 %6 次迭代；%8 个权重中有 %7 个的舍入方向不同于就近舍入。</translation>
    </message>
    <message>
        <source> (cancelled)</source>
        <translation>（已取消）</translation>
    </message>
    <message>
        <source>EPTQ</source>
        <translation>EPTQ</translation>
    </message>
    <message>
        <source>No plan: calibrate first.</source>
        <translation>没有方案：请先校准。</translation>
    </message>
    <message>
        <source>Iterations (the paper uses 80,000; a few hundred already help on a CPU):</source>
        <translation>迭代次数（论文使用 80,000 次；在 CPU 上几百次已有帮助）：</translation>
    </message>
    <message>
        <source>opening the data</source>
        <translation>打开数据</translation>
    </message>
    <message>
        <source>optimizing the rounding</source>
        <translation>优化舍入</translation>
    </message>
    <message>
        <source>iteration %1, loss %2</source>
        <translation>第 %1 次迭代，损失 %2</translation>
    </message>
    <message>
        <source>E&amp;PTQ…</source>
        <translation>E&amp;PTQ…</translation>
    </message>
</context>
<context>
    <name>qs::gui::Export</name>
    <message>
        <source>Export</source>
        <translation>导出</translation>
    </message>
    <message>
        <source>building and checking the ONNX model</source>
        <translation>构建并检查 ONNX 模型</translation>
    </message>
    <message>
        <source>Exported %1 (plan %2, manifest %3)</source>
        <translation>已导出 %1（方案 %2，清单 %3）</translation>
    </message>
    <message>
        <source>Wrote the report %1</source>
        <translation>已写入报告 %1</translation>
    </message>
    <message>
        <source>float island: %1</source>
        <translation>浮点孤岛：%1</translation>
    </message>
    <message>
        <source>Export Quantized Model</source>
        <translation>导出量化模型</translation>
    </message>
    <message>
        <source>Browse…</source>
        <translation>浏览…</translation>
    </message>
    <message>
        <source>Model file:</source>
        <translation>模型文件：</translation>
    </message>
    <message>
        <source>QDQ (QuantizeLinear/DequantizeLinear pairs)</source>
        <translation>QDQ（QuantizeLinear/DequantizeLinear 成对）</translation>
    </message>
    <message>
        <source>QOperator (QLinearConv, QLinearMatMul)</source>
        <translation>QOperator（QLinearConv、QLinearMatMul）</translation>
    </message>
    <message>
        <source>Form:</source>
        <translation>形式：</translation>
    </message>
    <message>
        <source>Store int8 weights as uint8 (exact in ONNX Runtime on x86)</source>
        <translation>以 uint8 存储 int8 权重（在 x86 上的 ONNX Runtime 中结果精确）</translation>
    </message>
    <message>
        <source>The same weight values with the zero point moved by 128. ONNX Runtime on x86 CPUs without AVX-VNNI multiplies uint8 by int8 in saturating 16-bit pairs, so its results can differ slightly from the integer engine; uint8 weights it multiplies exactly (as it does int8 ones with its session option session.x64quantprecision=1). Leave off for runtimes that require int8 weights.</source>
        <translation>权重数值不变，零点平移 128。在不支持 AVX-VNNI 的 x86 CPU 上，ONNX Runtime 以饱和的 16 位成对求和计算 uint8 与 int8 的乘积，其结果可能与整数引擎略有不同；uint8 权重的乘法则是精确的（启用其会话选项 session.x64quantprecision=1 时，int8 权重的乘法同样精确）。若目标运行时要求 int8 权重，请勿勾选。</translation>
    </message>
    <message>
        <source>Also write the analysis report (.report.json)</source>
        <translation>同时写入分析报告（.report.json）</translation>
    </message>
    <message>
        <source>The plan (.plan.json) and a manifest (.manifest.json) are written beside the model.</source>
        <translation>方案（.plan.json）和清单（.manifest.json）会写在模型旁边。</translation>
    </message>
    <message>
        <source>Export to</source>
        <translation>导出到</translation>
    </message>
    <message>
        <source>ONNX models (*.onnx)</source>
        <translation>ONNX 模型 (*.onnx)</translation>
    </message>
    <message>
        <source>&amp;Export Quantized Model…</source>
        <translation>导出量化模型(&amp;E)…</translation>
    </message>
    <message>
        <source>ONNX in QDQ or QOperator form, with the plan and a manifest</source>
        <translation>QDQ 或 QOperator 形式的 ONNX，附带方案和清单</translation>
    </message>
</context>
<context>
    <name>qs::gui::Jobs</name>
    <message>
        <source>reading the model</source>
        <translation>读取模型</translation>
    </message>
    <message>
        <source>summarizing</source>
        <translation>汇总</translation>
    </message>
    <message>
        <source>finding quantization points</source>
        <translation>查找量化点</translation>
    </message>
    <message>
        <source>opening the data</source>
        <translation>打开数据</translation>
    </message>
    <message>
        <source>observing activations</source>
        <translation>观测激活</translation>
    </message>
    <message>
        <source>float and quantized runs</source>
        <translation>浮点与量化推理</translation>
    </message>
    <message>
        <source>evaluating</source>
        <translation>评估</translation>
    </message>
    <message>
        <source>float</source>
        <translation>浮点</translation>
    </message>
    <message>
        <source>label %1</source>
        <translation>标签 %1</translation>
    </message>
    <message>
        <source>%1 on the integer engine: %2</source>
        <translation>%1 在整数引擎上：%2</translation>
    </message>
</context>
<context>
    <name>qs::gui::LayersPanel</name>
    <message>
        <source>Filter layers by name, op or tensor (wildcards * ?)</source>
        <translation>按名称、算子或张量筛选层（通配符 * ?）</translation>
    </message>
    <message>
        <source>Flagged only</source>
        <translation>仅显示有标记的</translation>
    </message>
    <message>
        <source>Show only rows with a flag (clipping, float tensors, verdicts)</source>
        <translation>只显示有标记的行（截断、浮点张量、诊断结论）</translation>
    </message>
    <message>
        <source>Cannot change the bit-width</source>
        <translation>无法更改位宽</translation>
    </message>
    <message>
        <source>Weight bits</source>
        <translation>权重位宽</translation>
    </message>
    <message>
        <source>Activation bits</source>
        <translation>激活位宽</translation>
    </message>
    <message>
        <source>Keep in float</source>
        <translation>保持浮点</translation>
    </message>
    <message>
        <source>%1 bits</source>
        <translation>%1 位</translation>
    </message>
    <message>
        <source>float</source>
        <translation>浮点</translation>
    </message>
    <message numerus="yes">
        <source>weights of %n layer(s) → %1</source>
        <translation>
            <numerusform>%n 层的权重 → %1</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <source>activations of %n layer(s) → %1</source>
        <translation>
            <numerusform>%n 层的激活 → %1</numerusform>
        </translation>
    </message>
    <message>
        <source>Open a model (File ▸ Open, drag and drop, or File ▸ Open demo).</source>
        <translation>打开模型（文件 ▸ 打开、拖放，或文件 ▸ 打开示例）。</translation>
    </message>
    <message>
        <source>%1 · %2 layers · %3 parameters</source>
        <translation>%1 · %2 层 · %3 个参数</translation>
    </message>
    <message>
        <source> · %1 MACs per sample</source>
        <translation> · 每个样本 %1 次乘加</translation>
    </message>
    <message>
        <source>Pin Widths</source>
        <translation>固定位宽</translation>
    </message>
    <message>
        <source>Unpin</source>
        <translation>取消固定</translation>
    </message>
</context>
<context>
    <name>qs::gui::MainWindow</name>
    <message>
        <source>&amp;Open Model…</source>
        <translation>打开模型(&amp;O)…</translation>
    </message>
    <message>
        <source>Open an ONNX model (it is only read, never written)</source>
        <translation>打开 ONNX 模型（只读取，从不写入）</translation>
    </message>
    <message>
        <source>Open &amp;Demo</source>
        <translation>打开示例(&amp;D)</translation>
    </message>
    <message>
        <source>Open the embedded MNIST demo model with its calibration and test images</source>
        <translation>打开内置的 MNIST 示例模型及其校准和测试图像</translation>
    </message>
    <message>
        <source>Open &amp;Project…</source>
        <translation>打开项目(&amp;P)…</translation>
    </message>
    <message>
        <source>&amp;Save Project</source>
        <translation>保存项目(&amp;S)</translation>
    </message>
    <message>
        <source>Save Project &amp;As…</source>
        <translation>项目另存为(&amp;A)…</translation>
    </message>
    <message>
        <source>&amp;Load Plan…</source>
        <translation>加载方案(&amp;L)…</translation>
    </message>
    <message>
        <source>Save &amp;Plan As…</source>
        <translation>方案另存为(&amp;P)…</translation>
    </message>
    <message>
        <source>Save Analysis &amp;Report…</source>
        <translation>保存分析报告(&amp;R)…</translation>
    </message>
    <message>
        <source>&amp;Close Model</source>
        <translation>关闭模型(&amp;C)</translation>
    </message>
    <message>
        <source>&amp;Quit</source>
        <translation>退出(&amp;Q)</translation>
    </message>
    <message>
        <source>&amp;Undo</source>
        <translation>撤销(&amp;U)</translation>
    </message>
    <message>
        <source>&amp;Redo</source>
        <translation>重做(&amp;R)</translation>
    </message>
    <message>
        <source>&amp;Find Layer</source>
        <translation>查找层(&amp;F)</translation>
    </message>
    <message>
        <source>&amp;Cancel Job</source>
        <translation>取消任务(&amp;C)</translation>
    </message>
    <message>
        <source>Snapshot Plan as &amp;B</source>
        <translation>将方案快照为 &amp;B</translation>
    </message>
    <message>
        <source>Keep a copy of the current plan to compare against</source>
        <translation>保存当前方案的副本以便比较</translation>
    </message>
    <message>
        <source>snapshot %1</source>
        <translation>快照 %1</translation>
    </message>
    <message>
        <source>Load Plan &amp;B…</source>
        <translation>加载方案 &amp;B…</translation>
    </message>
    <message>
        <source>Load plan B</source>
        <translation>加载方案 B</translation>
    </message>
    <message>
        <source>Plans (*.json);;All files (*)</source>
        <translation>方案 (*.json);;所有文件 (*)</translation>
    </message>
    <message>
        <source>Cannot load plan B</source>
        <translation>无法加载方案 B</translation>
    </message>
    <message>
        <source>&amp;Clear Plan B</source>
        <translation>清除方案 B(&amp;C)</translation>
    </message>
    <message>
        <source>Data</source>
        <translation>数据</translation>
    </message>
    <message>
        <source>Quantize</source>
        <translation>量化</translation>
    </message>
    <message>
        <source>Distributions</source>
        <translation>分布</translation>
    </message>
    <message>
        <source>Per-channel Weights</source>
        <translation>逐通道权重</translation>
    </message>
    <message>
        <source>Collapse</source>
        <translation>崩塌</translation>
    </message>
    <message>
        <source>Results</source>
        <translation>结果</translation>
    </message>
    <message>
        <source>Compare Plans</source>
        <translation>比较方案</translation>
    </message>
    <message>
        <source>&lt;plan as calibrated&gt;</source>
        <translation>&lt;校准所得方案&gt;</translation>
    </message>
    <message>
        <source>History</source>
        <translation>历史</translation>
    </message>
    <message>
        <source>Log</source>
        <translation>日志</translation>
    </message>
    <message>
        <source>&amp;File</source>
        <translation>文件(&amp;F)</translation>
    </message>
    <message>
        <source>Open &amp;Recent</source>
        <translation>最近打开(&amp;R)</translation>
    </message>
    <message>
        <source>&amp;Edit</source>
        <translation>编辑(&amp;E)</translation>
    </message>
    <message>
        <source>&amp;Weight Bits of Selection</source>
        <translation>所选行的权重位宽(&amp;W)</translation>
    </message>
    <message>
        <source>&amp;Activation Bits of Selection</source>
        <translation>所选行的激活位宽(&amp;A)</translation>
    </message>
    <message>
        <source>&amp;Run</source>
        <translation>运行(&amp;R)</translation>
    </message>
    <message>
        <source>&amp;Compare</source>
        <translation>比较(&amp;C)</translation>
    </message>
    <message>
        <source>&amp;View</source>
        <translation>视图(&amp;V)</translation>
    </message>
    <message>
        <source>&amp;Logarithmic Histograms</source>
        <translation>对数直方图(&amp;L)</translation>
    </message>
    <message>
        <source>&amp;Settings</source>
        <translation>设置(&amp;S)</translation>
    </message>
    <message>
        <source>&amp;Language</source>
        <translation>语言(&amp;L)</translation>
    </message>
    <message>
        <source>System default</source>
        <translation>系统默认</translation>
    </message>
    <message>
        <source>Language</source>
        <translation>语言</translation>
    </message>
    <message>
        <source>The language changes the next time QuantScope starts.</source>
        <translation>语言将在下次启动 QuantScope 时生效。</translation>
    </message>
    <message>
        <source>Use &amp;All Cores for Jobs</source>
        <translation>任务使用全部核心(&amp;A)</translation>
    </message>
    <message>
        <source>Unchecked: jobs leave one core to the interface</source>
        <translation>不勾选时：任务为界面保留一个核心</translation>
    </message>
    <message>
        <source>&amp;Help</source>
        <translation>帮助(&amp;H)</translation>
    </message>
    <message>
        <source>&amp;About QuantScope</source>
        <translation>关于 QuantScope(&amp;A)</translation>
    </message>
    <message>
        <source>About QuantScope</source>
        <translation>关于 QuantScope</translation>
    </message>
    <message>
        <source>&lt;h3&gt;QuantScope %1&lt;/h3&gt;&lt;p&gt;See where quantization hurts a neural network, layer by layer, and fix it.&lt;/p&gt;&lt;p&gt;Every job here has a &lt;code&gt;quantscope-cli&lt;/code&gt; equivalent.&lt;/p&gt;</source>
        <translation>&lt;h3&gt;QuantScope %1&lt;/h3&gt;&lt;p&gt;逐层查看量化在哪里损害神经网络，并加以修复。&lt;/p&gt;&lt;p&gt;这里的每个任务都有对应的 &lt;code&gt;quantscope-cli&lt;/code&gt; 命令。&lt;/p&gt;</translation>
    </message>
    <message>
        <source>Main</source>
        <translation>主工具栏</translation>
    </message>
    <message>
        <source>%1: %2</source>
        <translation>%1：%2</translation>
    </message>
    <message>
        <source>ETA %1</source>
        <translation>预计剩余 %1</translation>
    </message>
    <message>
        <source>Error: %1: %2</source>
        <translation>错误：%1：%2</translation>
    </message>
    <message>
        <source>%1: done in %2 s</source>
        <translation>%1：完成，用时 %2 秒</translation>
    </message>
    <message>
        <source>%1 finished</source>
        <translation>%1 已完成</translation>
    </message>
    <message>
        <source>%1: cancelled</source>
        <translation>%1：已取消</translation>
    </message>
    <message>
        <source>%1 cancelled</source>
        <translation>%1 已取消</translation>
    </message>
    <message>
        <source>%1 failed</source>
        <translation>%1 失败</translation>
    </message>
    <message>
        <source>Unsaved plan edits</source>
        <translation>方案修改未保存</translation>
    </message>
    <message>
        <source>The plan has edits that are not saved in a project. Save the project?</source>
        <translation>方案有尚未保存到项目中的修改。是否保存项目？</translation>
    </message>
    <message>
        <source>Open model</source>
        <translation>打开模型</translation>
    </message>
    <message>
        <source>ONNX models (*.onnx);;All files (*)</source>
        <translation>ONNX 模型 (*.onnx);;所有文件 (*)</translation>
    </message>
    <message>
        <source>Open %1</source>
        <translation>打开 %1</translation>
    </message>
    <message>
        <source>warning: %1</source>
        <translation>警告：%1</translation>
    </message>
    <message>
        <source>Opened %1</source>
        <translation>已打开 %1</translation>
    </message>
    <message>
        <source>Cannot open the demo</source>
        <translation>无法打开示例</translation>
    </message>
    <message>
        <source>Open the demo</source>
        <translation>打开示例</translation>
    </message>
    <message>
        <source>Opened the demo model (MNIST) with its calibration and test images</source>
        <translation>已打开示例模型（MNIST）及其校准和测试图像</translation>
    </message>
    <message>
        <source>Open project</source>
        <translation>打开项目</translation>
    </message>
    <message>
        <source>QuantScope projects (*.qsproj);;All files (*)</source>
        <translation>QuantScope 项目 (*.qsproj);;所有文件 (*)</translation>
    </message>
    <message>
        <source>Cannot open the project</source>
        <translation>无法打开项目</translation>
    </message>
    <message>
        <source>Opened project %1</source>
        <translation>已打开项目 %1</translation>
    </message>
    <message>
        <source>The project&apos;s %1 does not fit the model</source>
        <translation>项目中的%1与模型不匹配</translation>
    </message>
    <message>
        <source>plan</source>
        <translation>方案</translation>
    </message>
    <message>
        <source>plan B</source>
        <translation>方案 B</translation>
    </message>
    <message>
        <source>Save project</source>
        <translation>保存项目</translation>
    </message>
    <message>
        <source>QuantScope projects (*.qsproj)</source>
        <translation>QuantScope 项目 (*.qsproj)</translation>
    </message>
    <message>
        <source>Cannot save the project</source>
        <translation>无法保存项目</translation>
    </message>
    <message>
        <source>%1 is the input model; QuantScope never writes it.</source>
        <translation>%1 是输入模型；QuantScope 从不写入它。</translation>
    </message>
    <message>
        <source>Saved project %1</source>
        <translation>已保存项目 %1</translation>
    </message>
    <message>
        <source>Save plan</source>
        <translation>保存方案</translation>
    </message>
    <message>
        <source>Plans (*.json)</source>
        <translation>方案 (*.json)</translation>
    </message>
    <message>
        <source>Cannot save the plan</source>
        <translation>无法保存方案</translation>
    </message>
    <message>
        <source>Saved plan %1</source>
        <translation>已保存方案 %1</translation>
    </message>
    <message>
        <source>Save analysis report</source>
        <translation>保存分析报告</translation>
    </message>
    <message>
        <source>Reports (*.json)</source>
        <translation>报告 (*.json)</translation>
    </message>
    <message>
        <source>Cannot save the report</source>
        <translation>无法保存报告</translation>
    </message>
    <message>
        <source>Saved report %1</source>
        <translation>已保存报告 %1</translation>
    </message>
    <message>
        <source>Load plan</source>
        <translation>加载方案</translation>
    </message>
    <message>
        <source>load %1</source>
        <translation>加载 %1</translation>
    </message>
    <message>
        <source>Cannot load the plan</source>
        <translation>无法加载方案</translation>
    </message>
    <message>
        <source>Loaded plan %1</source>
        <translation>已加载方案 %1</translation>
    </message>
    <message>
        <source>(none)</source>
        <translation>（无）</translation>
    </message>
    <message>
        <source>Clear</source>
        <translation>清除</translation>
    </message>
    <message>
        <source>&amp;Pin Widths of Selection</source>
        <translation>固定所选行的位宽(&amp;P)</translation>
    </message>
    <message>
        <source>Mixed precision keeps these tensors at their current widths</source>
        <translation>混合精度会保持这些张量的当前位宽</translation>
    </message>
    <message>
        <source>U&amp;npin Selection</source>
        <translation>取消固定所选行(&amp;N)</translation>
    </message>
    <message>
        <source>Cannot open the project&apos;s tuned weights</source>
        <translation>无法打开项目中调优后的权重</translation>
    </message>
</context>
<context>
    <name>qs::gui::Mixed</name>
    <message>
        <source>Weight memory budget:</source>
        <translation>权重内存预算：</translation>
    </message>
    <message>
        <source>Apply</source>
        <translation>应用</translation>
    </message>
    <message>
        <source>Make the chosen allocation the plan (one undo step)</source>
        <translation>将所选分配设为方案（一步撤销）</translation>
    </message>
    <message>
        <source>Run Mixed Precision to see the memory/accuracy trade-off.</source>
        <translation>运行混合精度以查看内存与精度的权衡。</translation>
    </message>
    <message>
        <source>The chosen allocation&apos;s bit-widths appear here.</source>
        <translation>所选分配的位宽显示在这里。</translation>
    </message>
    <message>
        <source>chosen</source>
        <translation>已选</translation>
    </message>
    <message>
        <source>current plan</source>
        <translation>当前方案</translation>
    </message>
    <message>
        <source>mixed precision: %1</source>
        <translation>混合精度：%1</translation>
    </message>
    <message>
        <source>Mixed precision</source>
        <translation>混合精度</translation>
    </message>
    <message>
        <source>opening the data</source>
        <translation>打开数据</translation>
    </message>
    <message>
        <source>label-free Hessian trace of every activation</source>
        <translation>每个激活的无标签 Hessian 迹</translation>
    </message>
    <message>
        <source>sensitivity of every weight at every width</source>
        <translation>每个权重在每种位宽下的敏感度</translation>
    </message>
    <message>
        <source>optimal allocations (ILP)</source>
        <translation>最优分配（ILP）</translation>
    </message>
    <message>
        <source>Mixed Precision</source>
        <translation>混合精度</translation>
    </message>
    <message>
        <source>&amp;Mixed Precision</source>
        <translation>混合精度(&amp;M)</translation>
    </message>
</context>
<context>
    <name>qs::gui::PipelinePanel</name>
    <message>
        <source>Calibration</source>
        <translation>校准</translation>
    </message>
    <message>
        <source>%1 bits</source>
        <translation>%1 位</translation>
    </message>
    <message>
        <source>float</source>
        <translation>浮点</translation>
    </message>
    <message>
        <source>Weights per output channel</source>
        <translation>权重按输出通道量化</translation>
    </message>
    <message>
        <source>signed (int8, TFLite)</source>
        <translation>有符号（int8，TFLite）</translation>
    </message>
    <message>
        <source>unsigned (uint8, ONNX Runtime)</source>
        <translation>无符号（uint8，ONNX Runtime）</translation>
    </message>
    <message>
        <source>min/max</source>
        <translation>最小/最大值</translation>
    </message>
    <message>
        <source>moving average (EMA)</source>
        <translation>滑动平均（EMA）</translation>
    </message>
    <message>
        <source>percentile</source>
        <translation>百分位数</translation>
    </message>
    <message>
        <source>MSE-optimal</source>
        <translation>MSE 最优</translation>
    </message>
    <message>
        <source>KL divergence (entropy)</source>
        <translation>KL 散度（熵）</translation>
    </message>
    <message>
        <source>Weights:</source>
        <translation>权重：</translation>
    </message>
    <message>
        <source>Weight range:</source>
        <translation>权重范围：</translation>
    </message>
    <message>
        <source>Activations:</source>
        <translation>激活：</translation>
    </message>
    <message>
        <source>Activation type:</source>
        <translation>激活类型：</translation>
    </message>
    <message>
        <source>Activation range:</source>
        <translation>激活范围：</translation>
    </message>
    <message>
        <source>Percentile:</source>
        <translation>百分位数：</translation>
    </message>
    <message>
        <source>Calibration samples:</source>
        <translation>校准样本数：</translation>
    </message>
    <message>
        <source>Analysis samples:</source>
        <translation>分析样本数：</translation>
    </message>
    <message>
        <source>Batch:</source>
        <translation>批大小：</translation>
    </message>
    <message>
        <source>Run</source>
        <translation>运行</translation>
    </message>
    <message>
        <source>No model open.</source>
        <translation>未打开模型。</translation>
    </message>
    <message>
        <source>No plan yet: calibrate to make one.</source>
        <translation>尚无方案：请校准以生成方案。</translation>
    </message>
    <message>
        <source>Plan: %1 weight and %2 activation tensors quantized; weights %3 (float %4).</source>
        <translation>方案：已量化 %1 个权重张量和 %2 个激活张量；权重 %3（浮点 %4）。</translation>
    </message>
    <message numerus="yes">
        <source>Last analysis: output SQNR %1, top-1 agreement %2 over %n sample(s).</source>
        <translation>
            <numerusform>上次分析：输出 SQNR %1，在 %n 个样本上 top-1 一致率 %2。</numerusform>
        </translation>
    </message>
</context>
<context>
    <name>qs::gui::Quantize</name>
    <message>
        <source>Calibrate</source>
        <translation>校准</translation>
    </message>
    <message>
        <source>calibrate</source>
        <translation>校准</translation>
    </message>
    <message>
        <source>Analyze</source>
        <translation>分析</translation>
    </message>
    <message>
        <source>Evaluate</source>
        <translation>评估</translation>
    </message>
    <message>
        <source>plan A</source>
        <translation>方案 A</translation>
    </message>
    <message>
        <source>plan B</source>
        <translation>方案 B</translation>
    </message>
    <message>
        <source>&amp;Calibrate</source>
        <translation>校准(&amp;C)</translation>
    </message>
    <message>
        <source>&amp;Analyze</source>
        <translation>分析(&amp;A)</translation>
    </message>
    <message>
        <source>&amp;Evaluate</source>
        <translation>评估(&amp;E)</translation>
    </message>
    <message>
        <source>Calibrate, Analyze and Evaluate</source>
        <translation>校准、分析并评估</translation>
    </message>
</context>
<context>
    <name>qs::gui::Recovery</name>
    <message>
        <source>Run OBQ or GPTQ to tune the weights on the plan&apos;s grid with second-order information.</source>
        <translation>运行 OBQ 或 GPTQ，利用二阶信息在方案的网格上调优权重。</translation>
    </message>
    <message>
        <source>%1 in %2 s: the layers&apos; relative output error went from %3 (round-to-nearest) to %4. Analyze and evaluate to see the effect on the whole network.</source>
        <translation>%1 用时 %2 秒：各层相对输出误差从 %3（就近舍入）降到 %4。分析并评估以查看对整个网络的效果。</translation>
    </message>
    <message>
        <source>opening the data</source>
        <translation>打开数据</translation>
    </message>
    <message>
        <source>Recovery</source>
        <translation>恢复</translation>
    </message>
    <message>
        <source>&amp;GPTQ</source>
        <translation>&amp;GPTQ</translation>
    </message>
    <message>
        <source>&amp;OBQ</source>
        <translation>&amp;OBQ</translation>
    </message>
    <message>
        <source>50 % unstructured</source>
        <translation>50% 非结构化</translation>
    </message>
    <message>
        <source>2:4 (N:M along input channels)</source>
        <translation>2:4（沿输入通道的 N:M）</translation>
    </message>
    <message>
        <source>4:8 (N:M along input channels)</source>
        <translation>4:8（沿输入通道的 N:M）</translation>
    </message>
    <message>
        <source>50 % unstructured, then OBQ on the plan&apos;s grid</source>
        <translation>50% 非结构化，然后在方案的网格上运行 OBQ</translation>
    </message>
    <message>
        <source>2:4, then OBQ on the plan&apos;s grid</source>
        <translation>2:4，然后在方案的网格上运行 OBQ</translation>
    </message>
    <message>
        <source>Prune (ExactOBS)</source>
        <translation>剪枝（ExactOBS）</translation>
    </message>
    <message>
        <source>Sparsity pattern (the layers&apos; weights, chosen to minimize each layer&apos;s output error):</source>
        <translation>稀疏模式（选择各层权重以使每层输出误差最小）：</translation>
    </message>
    <message>
        <source>ExactOBS + OBQ</source>
        <translation>ExactOBS + OBQ</translation>
    </message>
    <message>
        <source>&amp;Prune (ExactOBS)…</source>
        <translation>剪枝（ExactOBS）(&amp;P)…</translation>
    </message>
    <message>
        <source>bias correction</source>
        <translation>偏置校正</translation>
    </message>
    <message>
        <source>Bias Correction</source>
        <translation>偏置校正</translation>
    </message>
    <message>
        <source>measuring the layers&apos; mean error</source>
        <translation>正在测量各层的平均误差</translation>
    </message>
    <message>
        <source>&amp;Bias Correction</source>
        <translation>偏置校正(&amp;B)</translation>
    </message>
</context>
<context>
    <name>qs::gui::Repvgg</name>
    <message>
        <source>Run RepVGG Diagnostics to check re-parameterized blocks for INT8 collapse.</source>
        <translation>运行 RepVGG 诊断，检查重参数化块在 INT8 下是否崩塌。</translation>
    </message>
    <message>
        <source>No re-parameterizable (RepVGG-style) blocks in this model.</source>
        <translation>此模型中没有可重参数化（RepVGG 式）的块。</translation>
    </message>
    <message>
        <source>%1 blocks over %2 samples, %3 flagged; fused model matches the original within %4.</source>
        <translation>%1 个块，%2 个样本，%3 个被标记；融合后的模型与原模型相差在 %4 以内。</translation>
    </message>
    <message>
        <source>Not blocks:</source>
        <translation>非块：</translation>
    </message>
    <message>
        <source>RepVGG diagnostics</source>
        <translation>RepVGG 诊断</translation>
    </message>
    <message>
        <source>reading the model with its BatchNormalization</source>
        <translation>读取带 BatchNormalization 的模型</translation>
    </message>
    <message>
        <source>branch statistics</source>
        <translation>分支统计</translation>
    </message>
    <message>
        <source>RepVGG</source>
        <translation>RepVGG</translation>
    </message>
    <message>
        <source>&amp;RepVGG Diagnostics</source>
        <translation>RepVGG 诊断(&amp;R)</translation>
    </message>
</context>
<context>
    <name>qs::gui::Sensitivity</name>
    <message>
        <source>Run Sensitivity (LFH) to see how much each tensor matters to the output.</source>
        <translation>运行敏感度（LFH）以查看每个张量对输出的影响程度。</translation>
    </message>
    <message>
        <source>Label-free Hessian trace Tr(JᵀJ) of the output with respect to each tensor (Hutchinson estimate, no labels): %1 s, %2× a forward pass over the same samples.</source>
        <translation>输出对每个张量的无标签 Hessian 迹 Tr(JᵀJ)（Hutchinson 估计，无需标签）：%1 秒，为同样样本上一次前向推理的 %2 倍。</translation>
    </message>
    <message>
        <source>Sensitivity (LFH)</source>
        <translation>敏感度（LFH）</translation>
    </message>
    <message>
        <source>opening the data</source>
        <translation>打开数据</translation>
    </message>
    <message>
        <source>Hutchinson probes</source>
        <translation>Hutchinson 探针</translation>
    </message>
    <message>
        <source>Sensitivity</source>
        <translation>敏感度</translation>
    </message>
    <message>
        <source>&amp;Sensitivity (LFH)</source>
        <translation>敏感度（LFH）(&amp;S)</translation>
    </message>
</context>
<context>
    <name>qs::ui</name>
    <message>
        <source>%1 s</source>
        <translation>%1 秒</translation>
    </message>
    <message>
        <source>%1 min %2 s</source>
        <translation>%1 分 %2 秒</translation>
    </message>
    <message>
        <source>%1 h %2 min</source>
        <translation>%1 小时 %2 分</translation>
    </message>
</context>
<context>
    <name>qs::ui::BitsChart</name>
    <message>
        <source>layer along the network</source>
        <translation>沿网络的层</translation>
    </message>
    <message>
        <source>bits</source>
        <translation>位宽</translation>
    </message>
    <message>
        <source>float</source>
        <translation>浮点</translation>
    </message>
    <message>
        <source>Calibrate to see the plan&apos;s bit-widths.</source>
        <translation>校准后即可查看方案的位宽。</translation>
    </message>
    <message>
        <source>weights, %1</source>
        <translation>权重，%1</translation>
    </message>
    <message>
        <source>activations, %1</source>
        <translation>激活，%1</translation>
    </message>
</context>
<context>
    <name>qs::ui::BitsDelegate</name>
    <message>
        <source>float</source>
        <translation>浮点</translation>
    </message>
    <message>
        <source>%1 bits</source>
        <translation>%1 位</translation>
    </message>
</context>
<context>
    <name>qs::ui::ChannelView</name>
    <message>
        <source>min / max</source>
        <translation>最小 / 最大</translation>
    </message>
    <message>
        <source>representable range</source>
        <translation>可表示范围</translation>
    </message>
    <message>
        <source>channel SQNR</source>
        <translation>通道 SQNR</translation>
    </message>
    <message>
        <source>output channel</source>
        <translation>输出通道</translation>
    </message>
    <message>
        <source>weight value</source>
        <translation>权重值</translation>
    </message>
    <message>
        <source>SQNR (dB)</source>
        <translation>SQNR（dB）</translation>
    </message>
    <message>
        <source>Per-channel statistics appear for weights quantized per channel.</source>
        <translation>按通道量化的权重会显示逐通道统计。</translation>
    </message>
    <message>
        <source>This tensor has no per-channel statistics.</source>
        <translation>此张量没有逐通道统计。</translation>
    </message>
</context>
<context>
    <name>qs::ui::CollapseView</name>
    <message>
        <source>isolated (weights)</source>
        <translation>单独（权重）</translation>
    </message>
    <message>
        <source>isolated (activations)</source>
        <translation>单独（激活）</translation>
    </message>
    <message>
        <source>cumulative</source>
        <translation>累积</translation>
    </message>
    <message>
        <source>largest drop</source>
        <translation>最大降幅</translation>
    </message>
    <message>
        <source>selected</source>
        <translation>已选</translation>
    </message>
    <message>
        <source>position along the network</source>
        <translation>沿网络的位置</translation>
    </message>
    <message>
        <source>SQNR (dB)</source>
        <translation>SQNR（dB）</translation>
    </message>
    <message>
        <source>Analyze the plan to see the error along the network.</source>
        <translation>分析量化方案以查看沿网络的误差。</translation>
    </message>
    <message>
        <source>No quantized tensors in this analysis.</source>
        <translation>此分析中没有量化张量。</translation>
    </message>
    <message>
        <source>largest drop: %1 (−%2 dB)</source>
        <translation>最大降幅：%1（−%2 dB）</translation>
    </message>
    <message>
        <source>%1
isolated %2, cumulative %3</source>
        <translation>%1
单独 %2，累积 %3</translation>
    </message>
</context>
<context>
    <name>qs::ui::HistogramView</name>
    <message>
        <source>float values</source>
        <translation>浮点值</translation>
    </message>
    <message>
        <source>quantization levels</source>
        <translation>量化级别</translation>
    </message>
    <message>
        <source>clip range</source>
        <translation>截断范围</translation>
    </message>
    <message>
        <source>value</source>
        <translation>值</translation>
    </message>
    <message>
        <source>count</source>
        <translation>计数</translation>
    </message>
    <message>
        <source>count (log)</source>
        <translation>计数（对数）</translation>
    </message>
    <message>
        <source>Select a layer to see its distributions.</source>
        <translation>选择一层以查看其分布。</translation>
    </message>
    <message>
        <source>No values to show for this tensor.</source>
        <translation>此张量没有可显示的值。</translation>
    </message>
</context>
<context>
    <name>qs::ui::LayerLossModel</name>
    <message>
        <source>Layer output error ‖WX − ŴX‖² relative to ‖WX‖², on the layer&apos;s calibration inputs</source>
        <translation>层输出误差 ‖WX − ŴX‖² 相对于 ‖WX‖²，在该层的校准输入上计算</translation>
    </message>
    <message>
        <source>Layer</source>
        <translation>层</translation>
    </message>
    <message>
        <source>Op</source>
        <translation>算子</translation>
    </message>
    <message>
        <source>Round-to-nearest</source>
        <translation>就近舍入</translation>
    </message>
    <message>
        <source>After</source>
        <translation>之后</translation>
    </message>
    <message>
        <source>Error removed</source>
        <translation>消除的误差</translation>
    </message>
    <message>
        <source>Sparsity</source>
        <translation>稀疏度</translation>
    </message>
    <message>
        <source>Time</source>
        <translation>时间</translation>
    </message>
</context>
<context>
    <name>qs::ui::LayerTableModel</name>
    <message>
        <source>float</source>
        <translation>浮点</translation>
    </message>
    <message>
        <source>weights clipped</source>
        <translation>权重被截断</translation>
    </message>
    <message>
        <source>activations clipped</source>
        <translation>激活被截断</translation>
    </message>
    <message>
        <source>float weights</source>
        <translation>浮点权重</translation>
    </message>
    <message>
        <source>float activations</source>
        <translation>浮点激活</translation>
    </message>
    <message>
        <source>Node: %1</source>
        <translation>节点：%1</translation>
    </message>
    <message>
        <source>Weight: %1</source>
        <translation>权重：%1</translation>
    </message>
    <message>
        <source>Activation: %1 (after the fused activation)</source>
        <translation>激活：%1（在融合的激活函数之后）</translation>
    </message>
    <message>
        <source>Activation: %1</source>
        <translation>激活：%1</translation>
    </message>
    <message>
        <source>Output shape: %1</source>
        <translation>输出形状：%1</translation>
    </message>
    <message>
        <source>%1 multiply-accumulates per sample</source>
        <translation>每个样本 %1 次乘加</translation>
    </message>
    <message>
        <source>symmetric</source>
        <translation>对称</translation>
    </message>
    <message>
        <source>asymmetric</source>
        <translation>非对称</translation>
    </message>
    <message>
        <source>signed</source>
        <translation>有符号</translation>
    </message>
    <message>
        <source>unsigned</source>
        <translation>无符号</translation>
    </message>
    <message>
        <source>per tensor</source>
        <translation>逐张量</translation>
    </message>
    <message>
        <source>per channel (axis %1)</source>
        <translation>逐通道（轴 %1）</translation>
    </message>
    <message>
        <source>%1, %2, %3; range from %4</source>
        <translation>%1，%2，%3；范围来自 %4</translation>
    </message>
    <message>
        <source>Re-simulated after the last edit (only this tensor quantized)</source>
        <translation>在上次修改后重新仿真（仅量化此张量）</translation>
    </message>
    <message>
        <source>From the last analysis; the entry has changed since (analyze again to update)</source>
        <translation>来自上次分析；此条目此后已修改（重新分析以更新）</translation>
    </message>
    <message>
        <source>Only this tensor quantized, the rest of the network in float</source>
        <translation>仅量化此张量，网络其余部分为浮点</translation>
    </message>
    <message>
        <source>The whole plan applied: error accumulated up to this point</source>
        <translation>应用整个方案：累积到此处的误差</translation>
    </message>
    <message>
        <source>Label-free Hessian trace of the model output with respect to this activation</source>
        <translation>模型输出对此激活的无标签 Hessian 迹</translation>
    </message>
    <message>
        <source>Name</source>
        <translation>名称</translation>
    </message>
    <message>
        <source>Op</source>
        <translation>算子</translation>
    </message>
    <message>
        <source>Weight shape</source>
        <translation>权重形状</translation>
    </message>
    <message>
        <source>Parameters</source>
        <translation>参数</translation>
    </message>
    <message>
        <source>MACs</source>
        <translation>乘加数</translation>
    </message>
    <message>
        <source>Weight range</source>
        <translation>权重范围</translation>
    </message>
    <message>
        <source>Activation range</source>
        <translation>激活范围</translation>
    </message>
    <message>
        <source>W bits</source>
        <translation>权重位宽</translation>
    </message>
    <message>
        <source>A bits</source>
        <translation>激活位宽</translation>
    </message>
    <message>
        <source>W SQNR (isolated)</source>
        <translation>权重 SQNR（单独）</translation>
    </message>
    <message>
        <source>A SQNR (isolated)</source>
        <translation>激活 SQNR（单独）</translation>
    </message>
    <message>
        <source>SQNR (cumulative)</source>
        <translation>SQNR（累积）</translation>
    </message>
    <message>
        <source>LFH sensitivity</source>
        <translation>LFH 敏感度</translation>
    </message>
    <message>
        <source>Flags</source>
        <translation>标记</translation>
    </message>
    <message>
        <source>Weight bit-width (2–8, or float); double-click to edit</source>
        <translation>权重位宽（2–8 或浮点）；双击编辑</translation>
    </message>
    <message>
        <source>Activation bit-width (4–8, 16, or float); double-click to edit</source>
        <translation>激活位宽（4–8、16 或浮点）；双击编辑</translation>
    </message>
    <message>
        <source>Calibrated weight range (all channels)</source>
        <translation>校准所得权重范围（所有通道）</translation>
    </message>
    <message>
        <source>Calibrated activation range</source>
        <translation>校准所得激活范围</translation>
    </message>
    <message>
        <source>pinned</source>
        <translation>已固定</translation>
    </message>
</context>
<context>
    <name>qs::ui::LossCurveChart</name>
    <message>
        <source>training loss (soft rounding)</source>
        <translation>训练损失（软舍入）</translation>
    </message>
    <message>
        <source>evaluation loss (hard rounding)</source>
        <translation>评估损失（硬舍入）</translation>
    </message>
    <message>
        <source>round-to-nearest</source>
        <translation>就近舍入</translation>
    </message>
    <message>
        <source>iteration</source>
        <translation>迭代</translation>
    </message>
    <message>
        <source>loss (log)</source>
        <translation>损失（对数）</translation>
    </message>
    <message>
        <source>Run EPTQ to see its loss curve.</source>
        <translation>运行 EPTQ 以查看其损失曲线。</translation>
    </message>
    <message>
        <source>The optimizer reported no losses.</source>
        <translation>优化器没有报告损失。</translation>
    </message>
</context>
<context>
    <name>qs::ui::ParetoChart</name>
    <message>
        <source>optimal allocations</source>
        <translation>最优分配</translation>
    </message>
    <message>
        <source>chosen</source>
        <translation>已选</translation>
    </message>
    <message>
        <source>memory budget</source>
        <translation>内存预算</translation>
    </message>
    <message>
        <source>weight memory (KiB)</source>
        <translation>权重内存（KiB）</translation>
    </message>
    <message>
        <source>predicted loss (log)</source>
        <translation>预测损失（对数）</translation>
    </message>
    <message>
        <source>Run Mixed Precision to see the memory/accuracy trade-off.</source>
        <translation>运行混合精度以查看内存与精度的权衡。</translation>
    </message>
    <message>
        <source>No allocation fits the budgets.</source>
        <translation>没有满足预算的分配。</translation>
    </message>
</context>
<context>
    <name>qs::ui::PlanCompareModel</name>
    <message>
        <source>float</source>
        <translation>浮点</translation>
    </message>
    <message>
        <source>weight</source>
        <translation>权重</translation>
    </message>
    <message>
        <source>activation</source>
        <translation>激活</translation>
    </message>
    <message>
        <source>Tensor</source>
        <translation>张量</translation>
    </message>
    <message>
        <source>Kind</source>
        <translation>类型</translation>
    </message>
    <message>
        <source>Bits A</source>
        <translation>位宽 A</translation>
    </message>
    <message>
        <source>Bits B</source>
        <translation>位宽 B</translation>
    </message>
    <message>
        <source>Range A</source>
        <translation>范围 A</translation>
    </message>
    <message>
        <source>Range B</source>
        <translation>范围 B</translation>
    </message>
</context>
<context>
    <name>qs::ui::PlanDocument</name>
    <message>
        <source>float</source>
        <translation>浮点</translation>
    </message>
    <message>
        <source>%1 bits</source>
        <translation>%1 位</translation>
    </message>
    <message>
        <source>%1 → %2</source>
        <translation>%1 → %2</translation>
    </message>
    <message numerus="yes">
        <source>%n tensors → %1</source>
        <translation>
            <numerusform>%n 个张量 → %1</numerusform>
        </translation>
    </message>
    <message>
        <source>clip range of %1</source>
        <translation>%1 的截断范围</translation>
    </message>
</context>
<context>
    <name>qs::ui::RepvggBlockModel</name>
    <message>
        <source>INT8 weights collapse</source>
        <translation>INT8 权重崩塌</translation>
    </message>
    <message>
        <source>INT8 activations collapse</source>
        <translation>INT8 激活崩塌</translation>
    </message>
    <message>
        <source>INT4 weights collapse</source>
        <translation>INT4 权重崩塌</translation>
    </message>
    <message>
        <source>quantization-friendly</source>
        <translation>量化友好</translation>
    </message>
    <message>
        <source>Standard deviation of each branch&apos;s output over the calibration data</source>
        <translation>各分支输出在校准数据上的标准差</translation>
    </message>
    <message>
        <source>max|w| / std of the fused kernel: large values waste the INT8 grid</source>
        <translation>融合卷积核的 max|w| / std：值越大越浪费 INT8 网格</translation>
    </message>
    <message>
        <source>Block</source>
        <translation>块</translation>
    </message>
    <message>
        <source>Structure</source>
        <translation>结构</translation>
    </message>
    <message>
        <source>Branch output std</source>
        <translation>分支输出标准差</translation>
    </message>
    <message>
        <source>Fused max/std</source>
        <translation>融合 max/std</translation>
    </message>
    <message>
        <source>W8 SQNR (per tensor)</source>
        <translation>W8 SQNR（逐张量）</translation>
    </message>
    <message>
        <source>W4 SQNR (per channel)</source>
        <translation>W4 SQNR（逐通道）</translation>
    </message>
    <message>
        <source>A8 SQNR</source>
        <translation>A8 SQNR</translation>
    </message>
    <message>
        <source>Verdict</source>
        <translation>结论</translation>
    </message>
</context>
<context>
    <name>qs::ui::ResultsChart</name>
    <message>
        <source>top-1 (%)</source>
        <translation>top-1（%）</translation>
    </message>
    <message>
        <source>agreement with float (%)</source>
        <translation>与浮点一致率（%）</translation>
    </message>
    <message>
        <source>%</source>
        <translation>%</translation>
    </message>
    <message>
        <source>Evaluate to compare float and quantized accuracy.</source>
        <translation>评估后即可比较浮点与量化的准确率。</translation>
    </message>
</context>
<context>
    <name>qs::ui::ResultsModel</name>
    <message>
        <source>Run</source>
        <translation>运行</translation>
    </message>
    <message>
        <source>Engine</source>
        <translation>引擎</translation>
    </message>
    <message>
        <source>Top-1</source>
        <translation>Top-1</translation>
    </message>
    <message>
        <source>Agreement with float</source>
        <translation>与浮点一致率</translation>
    </message>
    <message>
        <source>Weights</source>
        <translation>权重</translation>
    </message>
    <message>
        <source>Compression</source>
        <translation>压缩比</translation>
    </message>
    <message>
        <source>Samples</source>
        <translation>样本数</translation>
    </message>
    <message>
        <source>Time</source>
        <translation>时间</translation>
    </message>
</context>
<context>
    <name>qs::ui::SamplePreview</name>
    <message>
        <source>This sample is not an image (shape %1): its statistics are below.</source>
        <translation>此样本不是图像（形状 %1）：其统计信息见下方。</translation>
    </message>
    <message>
        <source>Choose calibration data to preview a sample.</source>
        <translation>选择校准数据以预览样本。</translation>
    </message>
    <message>
        <source>shape %1 · min %2 · max %3 · mean %4 · std %5</source>
        <translation>形状 %1 · 最小 %2 · 最大 %3 · 均值 %4 · 标准差 %5</translation>
    </message>
</context>
<context>
    <name>qs::ui::SensitivityChart</name>
    <message>
        <source>weights</source>
        <translation>权重</translation>
    </message>
    <message>
        <source>activations</source>
        <translation>激活</translation>
    </message>
    <message>
        <source>selected</source>
        <translation>已选</translation>
    </message>
    <message>
        <source>position along the network</source>
        <translation>沿网络的位置</translation>
    </message>
    <message>
        <source>LFH trace (log)</source>
        <translation>LFH 迹（对数）</translation>
    </message>
    <message>
        <source>Run Sensitivity (LFH) to see how much each tensor matters to the output.</source>
        <translation>运行敏感度（LFH）以查看每个张量对输出的影响程度。</translation>
    </message>
    <message>
        <source>Every trace is zero: the output does not depend on these tensors.</source>
        <translation>所有迹均为零：输出不依赖这些张量。</translation>
    </message>
    <message>
        <source>%1
trace %2, log-normalized %3</source>
        <translation>%1
迹 %2，对数归一化 %3</translation>
    </message>
</context>
</TS>
