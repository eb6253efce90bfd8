#include "widgets/config_form.h"

#include <QCheckBox>
#include <QComboBox>
#include <QDir>
#include <QFile>
#include <QFileDialog>
#include <QFileInfo>
#include <QFormLayout>
#include <QGroupBox>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QJsonArray>
#include <QJsonDocument>
#include <QLabel>
#include <QLineEdit>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QRegularExpression>
#include <QSaveFile>
#include <QSpinBox>
#include <QStackedWidget>
#include <QTableWidget>
#include <QVBoxLayout>
#include <algorithm>
#include <cmath>

namespace attnlab {

namespace {

const QString kBundledModel = QObject::tr("(bundled demo model)");
const QString kBundledData = QObject::tr("(bundled WikiText-2)");
constexpr double kIntMax = 9007199254740992.0;  // 2^53: exact in a JSON double

// Keys whose JSON values are floating point in DistillConfig::to_json() and in the
// variants' specs. Qt 6 stores integral doubles as integers, so the type has to come from
// the schema for the text to match nlohmann::json's ("1.0", not "1").
bool isDoubleKey(const QString& path) {
  static const QSet<QString> keys = {"lr", "weight_decay", "min_lr_ratio", "l1", "clip",
                                     "variant_spec.prune_below", "variant_spec.init_weight", "variant_spec.l1",
                                     "variant_spec.init_logit", "variant_spec.gate_bias"};
  return keys.contains(path);
}

QString numText(const QJsonValue& v) {
  const QVariant var = v.toVariant();
  if (var.typeId() == QMetaType::LongLong || var.typeId() == QMetaType::Int) return QString::number(var.toLongLong());
  const double d = v.toDouble();
  if (std::floor(d) == d && std::abs(d) < 1e15) return QString::number(static_cast<qint64>(d));
  return QString::number(d, 'g', QLocale::FloatingPointShortest);
}

// nlohmann::json::dump(2)-compatible text (sorted keys, 2-space indent, doubles keep ".0").
void dumpValue(const QJsonValue& v, int indent, QByteArray& out, const QString& path = {}) {
  const QByteArray pad(indent, ' ');
  if (v.isObject()) {
    const QJsonObject o = v.toObject();
    if (o.isEmpty()) {
      out += "{}";
      return;
    }
    out += "{\n";
    QStringList keys = o.keys();
    keys.sort();
    for (int i = 0; i < keys.size(); ++i) {
      out += pad + "  ";
      dumpValue(QJsonValue(keys[i]), 0, out);
      out += ": ";
      dumpValue(o.value(keys[i]), indent + 2, out, path.isEmpty() ? keys[i] : path + QLatin1Char('.') + keys[i]);
      out += i + 1 < keys.size() ? ",\n" : "\n";
    }
    out += pad + "}";
  } else if (v.isArray()) {
    const QJsonArray a = v.toArray();
    if (a.isEmpty()) {
      out += "[]";
      return;
    }
    out += "[\n";
    for (int i = 0; i < a.size(); ++i) {
      out += pad + "  ";
      dumpValue(a[i], indent + 2, out, path);
      out += i + 1 < a.size() ? ",\n" : "\n";
    }
    out += pad + "]";
  } else if (v.isString()) {
    // Compact JSON of a one-element array gives Qt's string escaping; strip the brackets.
    const QByteArray s = QJsonDocument(QJsonArray{v}).toJson(QJsonDocument::Compact);
    out += s.mid(1, s.size() - 2);
  } else if (v.isBool()) {
    out += v.toBool() ? "true" : "false";
  } else if (v.isDouble()) {
    const QVariant var = v.toVariant();
    if (!isDoubleKey(path) && (var.typeId() == QMetaType::LongLong || var.typeId() == QMetaType::Int)) {
      out += QByteArray::number(var.toLongLong());
    } else {
      QByteArray s = QByteArray::number(v.toDouble(), 'g', QLocale::FloatingPointShortest);
      if (!s.contains('.') && !s.contains('e') && !s.contains('n') && !s.contains('i')) s += ".0";
      out += s;
    }
  } else {
    out += "null";
  }
}

QLabel* makeErrorLabel(QWidget* parent) {
  auto* l = new QLabel(parent);
  l->setStyleSheet(QStringLiteral("color:#b00020;"));
  l->setWordWrap(true);
  l->setMinimumWidth(140);
  l->setMaximumWidth(280);
  l->setSizePolicy(QSizePolicy::Preferred, QSizePolicy::Preferred);
  return l;
}

QWidget* withError(QWidget* editor, QLabel* error, QWidget* extra = nullptr) {
  auto* host = new QWidget;
  auto* h = new QHBoxLayout(host);
  h->setContentsMargins(0, 0, 0, 0);
  h->addWidget(editor, 1);
  if (extra) h->addWidget(extra);
  h->addWidget(error);
  return host;
}

struct CandidateRow {
  QString kind;
  int size = 0;  // 0: no size (self, full)
  bool checked = false;
};

QString candidateName(const QString& kind, const QString& size) {
  return kind == QLatin1String("self") || kind == QLatin1String("full") ? kind : kind + QLatin1Char(':') + size.trimmed();
}

}  // namespace

QJsonObject ConfigForm::defaults() {
  // Mirrors DistillConfig's member initialisers (engine/train/distill.h).
  QJsonObject o;
  o["model"] = QString();
  o["data"] = QString();
  o["variant"] = QStringLiteral("mask-mix");
  o["variant_spec"] = QJsonObject();
  o["layers"] = QStringLiteral("all");
  o["train_params"] = QStringLiteral("variant");
  o["seq_len"] = qint64(128);
  o["batch"] = qint64(4);
  o["steps"] = qint64(200);
  o["lr"] = 3e-2;
  o["weight_decay"] = 0.0;
  o["warmup"] = qint64(10);
  o["schedule"] = QStringLiteral("cosine");
  o["min_lr_ratio"] = 0.1;
  o["l1"] = 1e-3;
  o["clip"] = 1.0;
  o["eval_every"] = qint64(25);
  o["eval_batches"] = qint64(4);
  o["checkpoint_every"] = qint64(50);
  o["threads"] = qint64(0);
  o["seed"] = qint64(0);
  o["device"] = QStringLiteral("cpu");
  o["out"] = QString();
  o["kl_chunk_tokens"] = qint64(512);
  return o;
}

QString ConfigForm::candidatesDefault() {
  // engine/attention/mask_mix.h kDefaultMaskCandidates
  return QStringLiteral("local:5,local:10,local:32,sink:4,stride:8,self");
}

ConfigForm::Field& ConfigForm::addField(const QString& key, Kind kind, QWidget* editor, double min, double max) {
  Field f;
  f.key = key;
  f.kind = kind;
  f.editor = editor;
  f.error = makeErrorLabel(this);
  f.min = min;
  f.max = max;
  editor->setObjectName(key);
  if (auto* le = qobject_cast<QLineEdit*>(editor)) connect(le, &QLineEdit::textChanged, this, &ConfigForm::fieldEdited);
  if (auto* cb = qobject_cast<QComboBox*>(editor)) {
    connect(cb, &QComboBox::currentTextChanged, this, &ConfigForm::fieldEdited);
  }
  lockable_ << editor;
  fields_.push_back(f);
  return fields_.back();
}

ConfigForm::ConfigForm(QWidget* parent) : QWidget(parent) {
  fields_.reserve(32);
  // --- models, data, output ---------------------------------------------------------------
  auto* modelBox = new QComboBox;
  modelBox->setEditable(true);
  modelBox->addItem(kBundledModel, QString());
  modelBox->setToolTip(tr("Hugging Face GPT-2 directory (config.json + model.safetensors + vocab.json + merges.txt)"));
  auto* dataBox = new QComboBox;
  dataBox->setEditable(true);
  dataBox->addItem(kBundledData, QString());
  dataBox->setToolTip(tr("Folder with train/valid/test text splits (wiki.train.raw, train.txt, ...), or one text file"));
  auto* outEdit = new QLineEdit;
  outEdit->setPlaceholderText(tr("(automatic: a new folder under the runs directory)"));
  auto* browseModelBtn = new QPushButton(tr("Browse…"));
  auto* browseDataBtn = new QPushButton(tr("Browse…"));
  auto* browseOutBtn = new QPushButton(tr("Browse…"));
  lockable_ << browseModelBtn << browseDataBtn << browseOutBtn;
  connect(browseModelBtn, &QPushButton::clicked, this, &ConfigForm::browseModel);
  connect(browseDataBtn, &QPushButton::clicked, this, &ConfigForm::browseData);
  connect(browseOutBtn, &QPushButton::clicked, this, &ConfigForm::browseOut);

  auto* ioBox = new QGroupBox(tr("Reference model and data"));
  auto* io = new QFormLayout(ioBox);
  {
    Field& f = addField("model", Kind::String, modelBox);
    io->addRow(tr("Reference model"), withError(modelBox, f.error, browseModelBtn));
  }
  {
    Field& f = addField("data", Kind::String, dataBox);
    io->addRow(tr("Data"), withError(dataBox, f.error, browseDataBtn));
  }
  {
    Field& f = addField("out", Kind::String, outEdit);
    io->addRow(tr("Run directory"), withError(outEdit, f.error, browseOutBtn));
  }

  // --- variant ------------------------------------------------------------------------------
  variant_ = new QComboBox;
  auto* layersEdit = new QLineEdit;
  layersEdit->setToolTip(tr("Layers whose attention is replaced: all, or e.g. 0,2,5 or 3-7"));
  auto* trainParams = new QComboBox;
  trainParams->addItems({"variant", "attention", "all"});
  trainParams->setToolTip(tr("Trainable parameters: the variant's own, all attention weights, or the whole model"));
  auto* varBox = new QGroupBox(tr("Attention variant"));
  auto* vf = new QFormLayout(varBox);
  {
    Field& f = addField("variant", Kind::Choice, variant_);
    vf->addRow(tr("Variant"), withError(variant_, f.error));
  }
  {
    Field& f = addField("layers", Kind::String, layersEdit);
    vf->addRow(tr("Layers"), withError(layersEdit, f.error));
  }
  {
    Field& f = addField("train_params", Kind::Choice, trainParams);
    vf->addRow(tr("Train"), withError(trainParams, f.error));
  }
  vf->addRow(buildVariantPages());
  specOverride_ = new QCheckBox(tr("Edit the variant spec as JSON"));
  specEdit_ = new QPlainTextEdit;
  specEdit_->setMaximumHeight(90);
  specEdit_->setReadOnly(true);
  specEdit_->setObjectName("variant_spec");
  specError_ = makeErrorLabel(this);
  specError_->setMaximumWidth(QWIDGETSIZE_MAX);
  lockable_ << specOverride_ << specEdit_;
  connect(specOverride_, &QCheckBox::toggled, this, &ConfigForm::specOverrideChanged);
  connect(specEdit_, &QPlainTextEdit::textChanged, this, [this] {
    if (specOverride_->isChecked()) fieldEdited();
  });
  vf->addRow(specOverride_);
  vf->addRow(specEdit_);
  vf->addRow(specError_);
  connect(variant_, &QComboBox::currentTextChanged, this, &ConfigForm::variantChanged);

  // --- training -----------------------------------------------------------------------------
  auto* trainBox = new QGroupBox(tr("Training"));
  auto* tf = new QFormLayout(trainBox);
  auto num = [&](QFormLayout* form, const QString& label, const char* key, Kind kind, double min, double max,
                 const QString& tip) {
    auto* le = new QLineEdit;
    le->setToolTip(tip);
    le->setMaximumWidth(120);
    Field& f = addField(key, kind, le, min, max);
    form->addRow(label, withError(le, f.error));
  };
  num(tf, tr("Sequence length"), "seq_len", Kind::Int, 2, 1 << 20, tr("Tokens per training sequence (≤ the model's context)"));
  num(tf, tr("Batch"), "batch", Kind::Int, 1, 1 << 20, tr("Sequences per step"));
  num(tf, tr("Steps"), "steps", Kind::Int, 1, kIntMax, tr("Optimisation steps"));
  num(tf, tr("Learning rate"), "lr", Kind::Double, 0, 10, tr("Peak learning rate, in (0, 10)"));
  auto* schedule = new QComboBox;
  schedule->addItems({"cosine", "constant", "linear"});
  {
    Field& f = addField("schedule", Kind::Choice, schedule);
    tf->addRow(tr("Schedule"), withError(schedule, f.error));
  }
  num(tf, tr("Warm-up steps"), "warmup", Kind::Int, 0, kIntMax, tr("Linear warm-up steps"));
  num(tf, tr("Min lr ratio"), "min_lr_ratio", Kind::Double, 0, 1, tr("Floor of cosine/linear decay as a fraction of lr"));
  num(tf, tr("Weight decay"), "weight_decay", Kind::Double, 0, 1e9, tr("AdamW weight decay"));
  num(tf, tr("L1 penalty"), "l1", Kind::Double, 0, 1e9, tr("Penalty weight for variants with a regulariser (mask-mix, duo)"));
  num(tf, tr("Grad clip"), "clip", Kind::Double, 0, 1e9, tr("Global gradient-norm clip (0 = off)"));

  auto* evalBox = new QGroupBox(tr("Evaluation and system"));
  auto* ef = new QFormLayout(evalBox);
  num(ef, tr("Validate every"), "eval_every", Kind::Int, 0, kIntMax, tr("Steps between validations (0 = only at the end)"));
  num(ef, tr("Validation batches"), "eval_batches", Kind::Int, 1, 1 << 20, tr("Batches per validation"));
  num(ef, tr("Checkpoint every"), "checkpoint_every", Kind::Int, 0, kIntMax, tr("Steps between checkpoints (0 = only at the end)"));
  num(ef, tr("Threads"), "threads", Kind::Int, 0, 4096, tr("Intra-op threads (0 = all cores)"));
  num(ef, tr("Seed"), "seed", Kind::Int, 0, kIntMax, tr("Random seed (data order, initialisation)"));
  auto* device = new QComboBox;
  device->setEditable(true);
  device->addItems({"cpu", "cuda"});
  {
    Field& f = addField("device", Kind::String, device);
    ef->addRow(tr("Device"), withError(device, f.error));
  }
  num(ef, tr("KL chunk (tokens)"), "kl_chunk_tokens", Kind::Int, 1, 1 << 24, tr("LM head + KL computed over this many tokens at a time (memory)"));

  // --- buttons ------------------------------------------------------------------------------
  auto* loadBtn = new QPushButton(tr("Load…"));
  auto* saveBtn = new QPushButton(tr("Save…"));
  auto* defaultsBtn = new QPushButton(tr("Defaults"));
  lockable_ << loadBtn << defaultsBtn;
  connect(loadBtn, &QPushButton::clicked, this, &ConfigForm::loadClicked);
  connect(saveBtn, &QPushButton::clicked, this, &ConfigForm::saveClicked);
  connect(defaultsBtn, &QPushButton::clicked, this, &ConfigForm::resetToDefaults);
  summary_ = new QLabel;
  summary_->setWordWrap(true);
  auto* bar = new QHBoxLayout;
  bar->addWidget(loadBtn);
  bar->addWidget(saveBtn);
  bar->addWidget(defaultsBtn);
  bar->addWidget(summary_, 1);

  auto* left = new QVBoxLayout;
  left->addWidget(ioBox);
  left->addWidget(varBox);
  left->addStretch(1);
  auto* right = new QVBoxLayout;
  right->addWidget(trainBox);
  right->addWidget(evalBox);
  right->addStretch(1);
  auto* cols = new QHBoxLayout;
  cols->addLayout(left, 3);
  cols->addLayout(right, 2);
  auto* lay = new QVBoxLayout(this);
  lay->addLayout(bar);
  lay->addLayout(cols, 1);

  setVariantKinds({"full", "mask-mix", "window", "duo", "performer", "nsa"});
  resetToDefaults();
}

QWidget* ConfigForm::buildVariantPages() {
  variantPages_ = new QStackedWidget;
  using P = Param;
  auto param = [](const char* key, P::Type t, QJsonValue def, double min, double max, const QString& tip,
                  QStringList choices = {}) {
    P p;
    p.key = key;
    p.type = t;
    p.def = def;
    p.min = min;
    p.max = max;
    p.tip = tip;
    p.choices = choices;
    return p;
  };
  const double inf = kIntMax;
  // Keys and defaults follow the variants' spec readers in engine/attention/.
  struct Def {
    const char* variant;
    std::vector<P> params;
    bool candidates;
  };
  const std::vector<Def> defs = {
      {"mask-mix",
       {param("per_head", P::Bool, false, 0, 0, tr("One weight per candidate and head (else per layer)")),
        param("prune_below", P::Double, 1e-2, 0, inf, tr("Candidates whose weight falls below this are removed")),
        param("prune_after", P::Int, qint64(50), 0, inf, tr("First step at which pruning may happen")),
        param("init_weight", P::Double, 1.0, 1e-9, inf, tr("Initial weight of every candidate (> 0)")),
        param("l1", P::Double, QJsonValue(QJsonValue::Undefined), 0, inf, tr("L1 weight (empty: the Training L1 penalty)"))},
       true},
      {"window",
       {param("window", P::Int, qint64(64), 1, inf, tr("Past tokens attended (including the token itself)")),
        param("sinks", P::Int, qint64(4), 0, inf, tr("First tokens always attended (attention sinks)"))},
       false},
      {"duo",
       {param("window", P::Int, qint64(64), 1, inf, tr("Window of the streaming heads")),
        param("sinks", P::Int, qint64(4), 0, inf, tr("Sink tokens of the streaming heads")),
        param("l1", P::Double, 0.01, 0, inf, tr("L1 pressure towards streaming heads")),
        param("init_logit", P::Double, 4.0, -50, 50, tr("Initial full-attention gate logit"))},
       false},
      {"performer",
       {param("features", P::Int, qint64(256), 1, 1 << 20, tr("Random features per head")),
        param("chunk", P::Int, qint64(64), 1, 1 << 20, tr("Chunk length of the causal prefix sums")),
        param("redraw_every", P::Int, qint64(100), 0, inf, tr("Steps between feature redraws (0 = never)")),
        param("seed", P::Int, qint64(0), 0, inf, tr("Seed of the random features")),
        param("features_kind", P::Choice, QStringLiteral("favor"), 0, 0, tr("FAVOR+ random features or learned ones"),
              {"favor", "learned"})},
       false},
      {"nsa",
       {param("block", P::Int, qint64(8), 1, 1 << 16, tr("Compression block length")),
        param("stride", P::Int, qint64(4), 1, 1 << 16, tr("Compression stride (≤ block)")),
        param("select_block", P::Int, qint64(16), 1, 1 << 16, tr("Selection block length")),
        param("top_n", P::Int, qint64(4), 1, 1 << 16, tr("Selected blocks per query")),
        param("window", P::Int, qint64(64), 1, inf, tr("Sliding-window length")),
        param("local_blocks", P::Int, qint64(2), 1, 1 << 16, tr("Always-selected local blocks (≤ top_n)")),
        param("compress_hidden", P::Int, QJsonValue(QJsonValue::Undefined), 1, 1 << 16,
              tr("Hidden width of the compression MLP (empty: head dim)")),
        param("gate_bias", P::Doubles, QJsonArray{-4.0, -4.0, 4.0}, 0, 3,
              tr("Initial gate biases: compressed, selected, window"))},
       false},
  };
  pages_.reserve(defs.size());
  for (const Def& d : defs) {
    VariantPage vp;
    vp.variant = d.variant;
    vp.hasCandidates = d.candidates;
    pages_.push_back(vp);
    VariantPage& ref = pages_.back();
    ref.page = buildPage(ref, d.params);
    variantPages_->addWidget(ref.page);
  }
  auto* none = new QLabel(tr("No form for this variant's parameters: edit its spec as JSON below, "
                             "or leave it empty for the defaults."));
  none->setWordWrap(true);
  noParamsPage_ = variantPages_->addWidget(none);
  return variantPages_;
}

QWidget* ConfigForm::buildPage(VariantPage& vp, const std::vector<Param>& params) {
  auto* page = new QWidget;
  auto* form = new QFormLayout(page);
  form->setContentsMargins(0, 0, 0, 0);
  if (vp.hasCandidates) {
    candidates_ = new QTableWidget(0, 2);
    candidates_->setObjectName("candidates");
    candidates_->setHorizontalHeaderLabels({tr("Candidate mask"), tr("Size")});
    candidates_->horizontalHeader()->setSectionResizeMode(0, QHeaderView::Stretch);
    candidates_->verticalHeader()->setVisible(false);
    candidates_->verticalHeader()->setDefaultSectionSize(20);
    candidates_->setMinimumHeight(150);
    candidates_->setToolTip(tr("Checked masks are mixed with learned weights: local:N = past N tokens, "
                               "sink:N = first N tokens, stride:S = every S-th token back, self = the token"));
    const QList<CandidateRow> rows = {{"local", 5, true},  {"local", 10, true}, {"local", 32, true},
                                      {"local", 64, false}, {"sink", 4, true},  {"sink", 1, false},
                                      {"stride", 8, true}, {"stride", 16, false}, {"self", 0, true},
                                      {"full", 0, false}};
    for (const CandidateRow& r : rows) {
      const int row = candidates_->rowCount();
      candidates_->insertRow(row);
      auto* kind = new QTableWidgetItem(r.kind);
      kind->setFlags(Qt::ItemIsUserCheckable | Qt::ItemIsEnabled);
      kind->setCheckState(r.checked ? Qt::Checked : Qt::Unchecked);
      candidates_->setItem(row, 0, kind);
      auto* size = new QTableWidgetItem(r.size > 0 ? QString::number(r.size) : QString());
      size->setFlags(r.size > 0 ? (Qt::ItemIsEditable | Qt::ItemIsEnabled | Qt::ItemIsSelectable) : Qt::ItemIsEnabled);
      candidates_->setItem(row, 1, size);
    }
    connect(candidates_, &QTableWidget::itemChanged, this, [this](QTableWidgetItem*) {
      if (updating_) return;
      if (VariantPage* p = currentPage()) p->explicitKeys.insert("candidates");
      fieldEdited();
    });
    addKind_ = new QComboBox;
    addKind_->addItems({"local", "sink", "stride", "self", "full"});
    addSize_ = new QSpinBox;
    addSize_->setRange(1, 1 << 20);
    addSize_->setValue(16);
    auto* addBtn = new QPushButton(tr("Add"));
    connect(addBtn, &QPushButton::clicked, this, &ConfigForm::addCandidateClicked);
    auto* addRow = new QHBoxLayout;
    addRow->addWidget(addKind_);
    addRow->addWidget(addSize_);
    addRow->addWidget(addBtn);
    addRow->addStretch(1);
    candidatesError_ = makeErrorLabel(this);
    candidatesError_->setMaximumWidth(QWIDGETSIZE_MAX);
    form->addRow(candidates_);
    form->addRow(tr("Add candidate"), addRow);
    form->addRow(candidatesError_);
    lockable_ << candidates_ << addKind_ << addSize_ << addBtn;
  }
  for (Param p : params) {
    QWidget* ed = nullptr;
    switch (p.type) {
      case Param::Bool: {
        auto* cb = new QCheckBox;
        connect(cb, &QCheckBox::clicked, this, [this, key = p.key] {
          if (VariantPage* cp = currentPage()) cp->explicitKeys.insert(key);
          fieldEdited();
        });
        ed = cb;
        break;
      }
      case Param::Choice: {
        auto* cb = new QComboBox;
        cb->addItems(p.choices);
        connect(cb, &QComboBox::activated, this, [this, key = p.key] {
          if (VariantPage* cp = currentPage()) cp->explicitKeys.insert(key);
          fieldEdited();
        });
        ed = cb;
        break;
      }
      default: {
        auto* le = new QLineEdit;
        le->setMaximumWidth(p.type == Param::Doubles ? 200 : 120);
        if (p.def.isUndefined()) le->setPlaceholderText(tr("(auto)"));
        connect(le, &QLineEdit::textEdited, this, [this, key = p.key] {
          if (VariantPage* cp = currentPage()) cp->explicitKeys.insert(key);
        });
        connect(le, &QLineEdit::textChanged, this, &ConfigForm::fieldEdited);
        ed = le;
      }
    }
    ed->setToolTip(p.tip);
    ed->setObjectName(vp.variant + QLatin1Char('.') + p.key);
    p.editor = ed;
    p.error = makeErrorLabel(this);
    lockable_ << ed;
    form->addRow(p.key, withError(ed, p.error));
    vp.params.push_back(p);
  }
  return page;
}

ConfigForm::VariantPage* ConfigForm::currentPage() {
  for (VariantPage& p : pages_)
    if (p.variant == variant_->currentText()) return &p;
  return nullptr;
}
const ConfigForm::VariantPage* ConfigForm::currentPage() const {
  return const_cast<ConfigForm*>(this)->currentPage();
}

const ConfigForm::Field* ConfigForm::field(const QString& key) const {
  for (const Field& f : fields_)
    if (f.key == key) return &f;
  return nullptr;
}

QWidget* ConfigForm::editor(const QString& key) const {
  if (key == QLatin1String("variant_spec")) return specEdit_;
  if (key == QLatin1String("candidates")) return candidates_;
  const Field* f = field(key);
  if (f) return f->editor;
  for (const VariantPage& p : pages_)
    for (const Param& q : p.params)
      if (p.variant + QLatin1Char('.') + q.key == key) return q.editor;
  return nullptr;
}

QString ConfigForm::text(const Field& f) const {
  if (auto* le = qobject_cast<QLineEdit*>(f.editor)) return le->text().trimmed();
  if (auto* cb = qobject_cast<QComboBox*>(f.editor)) {
    const int i = cb->currentIndex();
    if (i >= 0 && cb->itemText(i) == cb->currentText() && cb->itemData(i).isValid()) return cb->itemData(i).toString();
    return cb->currentText().trimmed();
  }
  return {};
}

void ConfigForm::setText(const Field& f, const QString& value) {
  if (auto* le = qobject_cast<QLineEdit*>(f.editor)) {
    le->setText(value);
  } else if (auto* cb = qobject_cast<QComboBox*>(f.editor)) {
    int i = cb->findData(value);
    if (i < 0) i = cb->findText(value);
    if (i >= 0) {
      cb->setCurrentIndex(i);
      if (cb->isEditable()) cb->setEditText(cb->itemText(i));  // same index: text may differ
    } else if (cb->isEditable()) {
      cb->setEditText(value);
    } else {
      cb->addItem(value);
      cb->setCurrentIndex(cb->count() - 1);
    }
  }
}

void ConfigForm::setFieldText(const QString& key, const QString& value) {
  if (const Field* f = field(key)) {
    setText(*f, value);
    return;
  }
  for (VariantPage& p : pages_)
    for (Param& q : p.params)
      if (p.variant + QLatin1Char('.') + q.key == key) {
        if (auto* le = qobject_cast<QLineEdit*>(q.editor)) {
          p.explicitKeys.insert(q.key);
          le->setText(value);
        }
      }
}

QString ConfigForm::checkField(const Field& f) const {
  const QString t = text(f);
  auto range = [&](double v) -> QString {
    if (v < f.min) return tr("must be ≥ %1").arg(f.min, 0, 'g', 12);
    if (v > f.max) return tr("must be ≤ %1").arg(f.max, 0, 'g', 12);
    return {};
  };
  if (f.kind == Kind::Int) {
    bool ok = false;
    const qint64 v = t.toLongLong(&ok);
    if (t.isEmpty()) return tr("required (an integer)");
    if (!ok) return tr("must be an integer, got “%1”").arg(t);
    QString r = range(static_cast<double>(v));
    if (r.isEmpty() && f.key == QLatin1String("warmup")) {
      const Field* steps = field("steps");
      const qint64 s = steps ? text(*steps).toLongLong(&ok) : 0;
      if (ok && v > s) r = tr("exceeds the number of steps (%1)").arg(s);
    }
    return r;
  }
  if (f.kind == Kind::Double) {
    bool ok = false;
    const double v = t.toDouble(&ok);
    if (t.isEmpty()) return tr("required (a number)");
    if (!ok || !std::isfinite(v)) return tr("must be a number, got “%1”").arg(t);
    if (f.key == QLatin1String("lr") && !(v > 0 && v < 10)) return tr("must be in (0, 10)");
    return range(v);
  }
  if (f.key == QLatin1String("model") && !t.isEmpty()) {
    if (!QFileInfo(t).isDir()) return tr("folder not found");
    if (!QFileInfo::exists(QDir(t).filePath("config.json")))
      return tr("no config.json here (expected a Hugging Face GPT-2 folder)");
  }
  if (f.key == QLatin1String("data") && !t.isEmpty() && !QFileInfo::exists(t)) return tr("not found");
  if (f.key == QLatin1String("layers")) {
    static const QRegularExpression re(QStringLiteral("^\\s*(all|\\d+(\\s*-\\s*\\d+)?(\\s*,\\s*\\d+(\\s*-\\s*\\d+)?)*)\\s*$"));
    if (t.isEmpty() || !re.match(t).hasMatch()) return tr("expected all, or layer indices like 0,2,5 or 3-7");
    for (const QString& part : t.split(QLatin1Char(','))) {
      const QStringList ab = part.split(QLatin1Char('-'));
      if (ab.size() == 2 && ab[0].trimmed().toInt() > ab[1].trimmed().toInt())
        return tr("range “%1” is reversed").arg(part.trimmed());
    }
  }
  if (f.key == QLatin1String("device")) {
    static const QRegularExpression re(QStringLiteral("^(cpu|cuda(:\\d+)?)$"));
    if (!re.match(t).hasMatch()) return tr("must be cpu or cuda[:N]");
  }
  if (f.key == QLatin1String("variant") && t.isEmpty()) return tr("choose a variant");
  return {};
}

QJsonValue ConfigForm::paramValue(const Param& p, bool* ok) const {
  *ok = true;
  switch (p.type) {
    case Param::Bool: return static_cast<QCheckBox*>(p.editor)->isChecked();
    case Param::Choice: return static_cast<QComboBox*>(p.editor)->currentText();
    default: break;
  }
  const QString t = static_cast<QLineEdit*>(p.editor)->text().trimmed();
  if (t.isEmpty()) return QJsonValue(QJsonValue::Undefined);
  if (p.type == Param::Int) {
    const qint64 v = t.toLongLong(ok);
    return *ok ? QJsonValue(v) : QJsonValue(QJsonValue::Undefined);
  }
  if (p.type == Param::Double) {
    const double v = t.toDouble(ok);
    *ok = *ok && std::isfinite(v);
    return *ok ? QJsonValue(v) : QJsonValue(QJsonValue::Undefined);
  }
  QJsonArray a;  // Doubles
  for (const QString& s : t.split(QLatin1Char(','))) {
    bool good = false;
    const double v = s.trimmed().toDouble(&good);
    if (!good) {
      *ok = false;
      return QJsonValue(QJsonValue::Undefined);
    }
    a.append(v);
  }
  return a;
}

QString ConfigForm::checkParam(const Param& p) const {
  bool ok = true;
  const QJsonValue v = paramValue(p, &ok);
  if (!ok) return p.type == Param::Int ? tr("must be an integer") : tr("must be a number (or a list of numbers)");
  if (v.isUndefined()) return p.def.isUndefined() ? QString() : tr("required");
  if (p.type == Param::Int || p.type == Param::Double) {
    const double d = v.toDouble();
    if (d < p.min) return tr("must be ≥ %1").arg(p.min, 0, 'g', 12);
    if (d > p.max) return tr("must be ≤ %1").arg(p.max, 0, 'g', 12);
  }
  if (p.type == Param::Doubles && v.toArray().size() != static_cast<int>(p.max))
    return tr("needs %1 numbers").arg(p.max);
  return {};
}

QStringList ConfigForm::maskMixCandidates() const {
  QStringList out;
  if (!candidates_) return out;
  for (int r = 0; r < candidates_->rowCount(); ++r)
    if (candidates_->item(r, 0)->checkState() == Qt::Checked)
      out << candidateName(candidates_->item(r, 0)->text(), candidates_->item(r, 1)->text());
  return out;
}

void ConfigForm::setMaskMixCandidates(const QStringList& names) {
  if (!candidates_) return;
  const bool was = updating_;
  updating_ = true;
  // Checked candidates first, in the given order (the engine reports them in this order).
  QList<CandidateRow> rows;
  for (const QString& n : names) {
    const QString kind = n.section(QLatin1Char(':'), 0, 0).trimmed();
    rows.push_back({kind, n.contains(QLatin1Char(':')) ? n.section(QLatin1Char(':'), 1).trimmed().toInt() : 0, true});
  }
  for (int r = 0; r < candidates_->rowCount(); ++r) {
    const QString name = candidateName(candidates_->item(r, 0)->text(), candidates_->item(r, 1)->text());
    if (!names.contains(name)) rows.push_back({candidates_->item(r, 0)->text(), candidates_->item(r, 1)->text().toInt(), false});
  }
  candidates_->setRowCount(0);
  for (const CandidateRow& r : rows) {
    const int row = candidates_->rowCount();
    candidates_->insertRow(row);
    auto* kind = new QTableWidgetItem(r.kind);
    kind->setFlags(Qt::ItemIsUserCheckable | Qt::ItemIsEnabled);
    kind->setCheckState(r.checked ? Qt::Checked : Qt::Unchecked);
    candidates_->setItem(row, 0, kind);
    const bool sized = r.kind != QLatin1String("self") && r.kind != QLatin1String("full");
    auto* size = new QTableWidgetItem(sized ? QString::number(r.size) : QString());
    size->setFlags(sized ? (Qt::ItemIsEditable | Qt::ItemIsEnabled | Qt::ItemIsSelectable) : Qt::ItemIsEnabled);
    candidates_->setItem(row, 1, size);
  }
  updating_ = was;
  if (!updating_) fieldEdited();
}

void ConfigForm::addCandidateClicked() {
  const QString kind = addKind_->currentText();
  const QString name = candidateName(kind, QString::number(addSize_->value()));
  QStringList names = maskMixCandidates();
  if (!names.contains(name)) names << name;
  if (VariantPage* p = currentPage()) p->explicitKeys.insert("candidates");
  setMaskMixCandidates(names);
}

QString ConfigForm::checkCandidates() const {
  const QStringList names = maskMixCandidates();
  if (names.isEmpty()) return tr("check at least one candidate mask");
  QSet<QString> seen;
  for (const QString& n : names) {
    if (seen.contains(n)) return tr("“%1” is listed twice").arg(n);
    seen.insert(n);
    if (!n.contains(QLatin1Char(':'))) continue;
    bool ok = false;
    const int s = n.section(QLatin1Char(':'), 1).toInt(&ok);
    if (!ok || s <= 0) return tr("“%1”: the size must be a positive integer").arg(n);
    if (n.startsWith(QLatin1String("stride:")) && s < 2) return tr("“%1”: a stride must be ≥ 2").arg(n);
  }
  return {};
}

QJsonObject ConfigForm::variantSpec() const {
  if (specOverride_->isChecked()) {
    const QJsonDocument doc = QJsonDocument::fromJson(specEdit_->toPlainText().toUtf8());
    return doc.isObject() ? doc.object() : QJsonObject();
  }
  QJsonObject spec;
  const VariantPage* p = currentPage();
  if (!p) return spec;
  if (p->hasCandidates) {
    const QString c = maskMixCandidates().join(QLatin1Char(','));
    if (p->explicitKeys.contains("candidates") || c != candidatesDefault()) spec["candidates"] = c;
  }
  for (const Param& q : p->params) {
    bool ok = true;
    const QJsonValue v = paramValue(q, &ok);
    if (!ok || v.isUndefined()) continue;
    bool same = v == q.def;
    if ((q.type == Param::Int || q.type == Param::Double) && q.def.isDouble()) same = v.toDouble() == q.def.toDouble();
    if (p->explicitKeys.contains(q.key) || !same) spec[q.key] = v;
  }
  return spec;
}

bool ConfigForm::setVariantSpec(const QString& variant, const QJsonObject& spec) {
  VariantPage* page = nullptr;
  for (VariantPage& p : pages_)
    if (p.variant == variant) page = &p;
  auto fallback = [&] {
    specOverride_->setChecked(true);
    specEdit_->setPlainText(QString::fromUtf8(toJsonText(spec)));
    return true;
  };
  if (!page) return fallback();
  // Reset the page to its defaults, then apply the spec's keys.
  page->explicitKeys.clear();
  if (page->hasCandidates) setMaskMixCandidates(candidatesDefault().split(QLatin1Char(',')));
  for (Param& q : page->params) {
    if (auto* le = qobject_cast<QLineEdit*>(q.editor)) {
      if (q.def.isUndefined()) le->clear();
      else if (q.type == Param::Doubles) {
        QStringList parts;
        for (const QJsonValue& v : q.def.toArray()) parts << numText(v);
        le->setText(parts.join(QStringLiteral(", ")));
      } else le->setText(numText(q.def));
    } else if (auto* cb = qobject_cast<QCheckBox*>(q.editor)) {
      cb->setChecked(q.def.toBool());
    } else if (auto* co = qobject_cast<QComboBox*>(q.editor)) {
      co->setCurrentText(q.def.toString());
    }
  }
  for (auto it = spec.begin(); it != spec.end(); ++it) {
    const QString key = it.key();
    const QJsonValue v = it.value();
    if (page->hasCandidates && key == QLatin1String("candidates")) {
      if (!v.isString()) return fallback();
      QStringList names;
      for (const QString& s : v.toString().split(QLatin1Char(','), Qt::SkipEmptyParts)) names << s.trimmed();
      setMaskMixCandidates(names);
      page->explicitKeys.insert(key);
      continue;
    }
    Param* q = nullptr;
    for (Param& x : page->params)
      if (x.key == key) q = &x;
    if (!q) return fallback();
    page->explicitKeys.insert(key);
    if (q->type == Param::Bool) {
      if (!v.isBool()) return fallback();
      static_cast<QCheckBox*>(q->editor)->setChecked(v.toBool());
    } else if (q->type == Param::Choice) {
      if (!v.isString() || !q->choices.contains(v.toString())) return fallback();
      static_cast<QComboBox*>(q->editor)->setCurrentText(v.toString());
    } else if (q->type == Param::Doubles) {
      if (!v.isArray()) return fallback();
      QStringList parts;
      for (const QJsonValue& e : v.toArray()) parts << numText(e);
      static_cast<QLineEdit*>(q->editor)->setText(parts.join(QStringLiteral(", ")));
    } else {
      if (!v.isDouble()) return fallback();
      static_cast<QLineEdit*>(q->editor)->setText(numText(v));
    }
  }
  specOverride_->setChecked(false);
  // A spec the page cannot reproduce exactly (e.g. 1.0 given for an integer) stays as JSON.
  if (variantSpec() != spec) return fallback();
  return true;
}

QJsonObject ConfigForm::config() const {
  QJsonObject o = defaults();
  for (const Field& f : fields_) {
    const QString t = text(f);
    if (f.kind == Kind::Int) {
      bool ok = false;
      const qint64 v = t.toLongLong(&ok);
      if (ok) o[f.key] = v;
    } else if (f.kind == Kind::Double) {
      bool ok = false;
      const double v = t.toDouble(&ok);
      if (ok) o[f.key] = v;
    } else {
      o[f.key] = t;
    }
  }
  o["variant_spec"] = variantSpec();
  return o;
}

bool ConfigForm::setConfig(const QJsonObject& cfg, QString* error) {
  const QJsonObject def = defaults();
  auto fail = [&](const QString& msg) {
    if (error) *error = msg;
    return false;
  };
  for (auto it = cfg.begin(); it != cfg.end(); ++it) {
    const QString& k = it.key();
    if (k == QLatin1String("comment")) continue;
    if (!def.contains(k)) return fail(tr("unknown field '%1'").arg(k));
    const QJsonValue& v = it.value();
    const QJsonValue& d = def.value(k);
    if (k == QLatin1String("layers") && v.isArray()) continue;
    if (d.isString() && !v.isString()) return fail(tr("field '%1' must be a string").arg(k));
    if (d.isDouble() && !v.isDouble()) return fail(tr("field '%1' must be a number").arg(k));
    if (d.isObject() && !v.isObject()) return fail(tr("field '%1' must be an object").arg(k));
  }
  updating_ = true;
  QJsonObject full = def;
  for (auto it = cfg.begin(); it != cfg.end(); ++it)
    if (it.key() != QLatin1String("comment")) full[it.key()] = it.value();
  if (full.value("layers").isArray()) {
    QStringList parts;
    for (const QJsonValue& v : full.value("layers").toArray()) parts << QString::number(v.toInt());
    full["layers"] = parts.join(QLatin1Char(','));
  }
  for (const Field& f : fields_) {
    const QJsonValue v = full.value(f.key);
    if (f.kind == Kind::Int || f.kind == Kind::Double) setText(f, numText(v));
    else setText(f, v.toString());
  }
  variantChanged();
  setVariantSpec(full.value("variant").toString(), full.value("variant_spec").toObject());
  updating_ = false;
  fieldEdited();
  return true;
}

void ConfigForm::resetToDefaults() { setConfig(defaults()); }

QByteArray ConfigForm::toJsonText(const QJsonObject& cfg) {
  QByteArray out;
  dumpValue(cfg, 0, out);
  return out;
}

bool ConfigForm::loadFile(const QString& path, QString* error) {
  QFile f(path);
  if (!f.open(QIODevice::ReadOnly)) {
    if (error) *error = tr("cannot read %1: %2").arg(path, f.errorString());
    return false;
  }
  QJsonParseError pe{};
  const QJsonDocument doc = QJsonDocument::fromJson(f.readAll(), &pe);
  if (pe.error != QJsonParseError::NoError || !doc.isObject()) {
    if (error) *error = tr("%1: not a JSON object (%2 at offset %3)").arg(path, pe.errorString()).arg(pe.offset);
    return false;
  }
  QString why;
  if (!setConfig(doc.object(), &why)) {
    if (error) *error = path + QStringLiteral(": ") + why;
    return false;
  }
  return true;
}

bool ConfigForm::saveFile(const QString& path, QString* error) const {
  QSaveFile f(path);
  if (!f.open(QIODevice::WriteOnly)) {
    if (error) *error = tr("cannot write %1: %2").arg(path, f.errorString());
    return false;
  }
  f.write(toJsonText(config()));
  f.write("\n");
  if (!f.commit()) {
    if (error) *error = tr("cannot write %1: %2").arg(path, f.errorString());
    return false;
  }
  return true;
}

void ConfigForm::fieldEdited() {
  if (updating_) return;
  updateSpecPreview();
  validate();
  Q_EMIT configChanged();
}

void ConfigForm::updateSpecPreview() {
  if (specOverride_->isChecked()) return;
  const bool was = updating_;
  updating_ = true;
  specEdit_->setPlainText(QString::fromUtf8(toJsonText(variantSpec())));
  updating_ = was;
}

bool ConfigForm::validate() {
  errors_.clear();
  externalMessage_.clear();
  for (const Field& f : fields_) {
    const QString e = checkField(f);
    if (!e.isEmpty()) errors_.insert(f.key, e);
  }
  if (specOverride_->isChecked()) {
    QJsonParseError pe{};
    const QJsonDocument doc = QJsonDocument::fromJson(specEdit_->toPlainText().toUtf8(), &pe);
    if (!specEdit_->toPlainText().trimmed().isEmpty() && (pe.error != QJsonParseError::NoError || !doc.isObject()))
      errors_.insert("variant_spec", tr("the spec must be a JSON object (%1)").arg(pe.errorString()));
  } else if (const VariantPage* p = currentPage()) {
    if (p->hasCandidates) {
      const QString e = checkCandidates();
      if (!e.isEmpty()) errors_.insert("candidates", e);
    }
    for (const Param& q : p->params) {
      const QString e = checkParam(q);
      if (!e.isEmpty()) errors_.insert(p->variant + QLatin1Char('.') + q.key, e);
    }
  }
  if (errors_.isEmpty() && external_) {
    const QString msg = external_(config());
    if (!msg.isEmpty()) {
      static const QRegularExpression re(QStringLiteral("field '([a-z_]+)'"));
      const auto m = re.match(msg);
      const QString key = m.hasMatch() && field(m.captured(1)) ? m.captured(1) : QStringLiteral("_external");
      errors_.insert(key, key == QLatin1String("_external") ? msg : msg.mid(m.capturedEnd()).remove(QRegularExpression("^[:\\s]+")));
      externalMessage_ = msg;
    }
  }
  showErrors();
  const bool valid = errors_.isEmpty();
  if (valid != lastValid_) {
    lastValid_ = valid;
    Q_EMIT validityChanged(valid);
  }
  return valid;
}

void ConfigForm::showErrors() {
  for (const Field& f : fields_) {
    const QString e = errors_.value(f.key);
    f.error->setText(e);
    f.error->setVisible(!e.isEmpty());
  }
  for (const VariantPage& p : pages_)
    for (const Param& q : p.params) {
      const QString e = errors_.value(p.variant + QLatin1Char('.') + q.key);
      q.error->setText(e);
      q.error->setVisible(!e.isEmpty());
    }
  if (candidatesError_) {
    candidatesError_->setText(errors_.value("candidates"));
    candidatesError_->setVisible(errors_.contains("candidates"));
  }
  specError_->setText(errors_.value("variant_spec"));
  specError_->setVisible(errors_.contains("variant_spec"));
  if (errors_.isEmpty()) {
    summary_->setStyleSheet(QStringLiteral("color:#1b5e20;"));
    summary_->setText(tr("Configuration is valid."));
  } else {
    summary_->setStyleSheet(QStringLiteral("color:#b00020;"));
    const QString first = errors_.firstKey();
    summary_->setText(errors_.contains("_external")
                          ? errors_.value("_external")
                          : tr("%n field(s) need attention, e.g. %1: %2", nullptr, errors_.size())
                                .arg(first, errors_.value(first)));
  }
}

QString ConfigForm::fieldError(const QString& key) const { return errors_.value(key); }

void ConfigForm::setExternalValidator(Validator v) {
  external_ = std::move(v);
  validate();
}

void ConfigForm::setVariantKinds(const QStringList& kinds) {
  const QString cur = variant_->currentText();
  const bool was = updating_;
  updating_ = true;
  variant_->clear();
  variant_->addItems(kinds);
  if (!cur.isEmpty()) variant_->setCurrentText(cur);
  updating_ = was;
  variantChanged();
}

QStringList ConfigForm::variantKinds() const {
  QStringList out;
  for (int i = 0; i < variant_->count(); ++i) out << variant_->itemText(i);
  return out;
}

namespace {
void fillPicker(QComboBox* cb, const QStringList& dirs, const QStringList& labels) {
  while (cb->count() > 1) cb->removeItem(1);  // item 0: the bundled default
  for (int i = 0; i < dirs.size(); ++i) {
    cb->addItem(i < labels.size() && !labels[i].isEmpty() ? labels[i] : dirs[i], dirs[i]);
    cb->setItemData(cb->count() - 1, dirs[i], Qt::ToolTipRole);
  }
}
}  // namespace

void ConfigForm::setKnownModels(const QStringList& dirs, const QStringList& labels) {
  const QString cur = text(*field("model"));
  fillPicker(static_cast<QComboBox*>(field("model")->editor), dirs, labels);
  setText(*field("model"), cur);
}

void ConfigForm::setKnownData(const QStringList& dirs, const QStringList& labels) {
  const QString cur = text(*field("data"));
  fillPicker(static_cast<QComboBox*>(field("data")->editor), dirs, labels);
  setText(*field("data"), cur);
}

void ConfigForm::variantChanged() {
  const VariantPage* p = currentPage();
  const QString v = variant_->currentText();
  if (p) {
    variantPages_->setCurrentWidget(p->page);
  } else {
    variantPages_->setCurrentIndex(noParamsPage_);
  }
  const bool noForm = !p && v != QLatin1String("full");
  if (noForm && !specOverride_->isChecked()) {
    specOverride_->setChecked(true);
    specEdit_->setPlainText(QStringLiteral("{}"));
  } else if (!noForm && specOverride_->isChecked() && !updating_) {
    specOverride_->setChecked(false);
  }
  if (v == QLatin1String("full")) {
    specOverride_->setChecked(false);
    variantPages_->setCurrentIndex(noParamsPage_);
  }
  fieldEdited();
}

void ConfigForm::specOverrideChanged(bool on) {
  specEdit_->setReadOnly(!on);
  variantPages_->setEnabled(!on);
  if (!on) updateSpecPreview();
  fieldEdited();
}

void ConfigForm::setLocked(bool locked) {
  for (QWidget* w : lockable_) w->setEnabled(!locked);
  if (!locked) specEdit_->setReadOnly(!specOverride_->isChecked());
}

void ConfigForm::browseModel() {
  const QString dir = QFileDialog::getExistingDirectory(this, tr("Reference model (Hugging Face GPT-2 folder)"));
  if (!dir.isEmpty()) setText(*field("model"), dir);
}
void ConfigForm::browseData() {
  const QString dir = QFileDialog::getExistingDirectory(this, tr("Data folder (train/valid/test splits)"));
  if (!dir.isEmpty()) setText(*field("data"), dir);
}
void ConfigForm::browseOut() {
  const QString dir = QFileDialog::getExistingDirectory(this, tr("Run directory"));
  if (!dir.isEmpty()) setText(*field("out"), dir);
}

void ConfigForm::loadClicked() {
  const QString path = QFileDialog::getOpenFileName(this, tr("Load configuration"), QString(), tr("JSON (*.json)"));
  if (path.isEmpty()) return;
  QString err;
  if (!loadFile(path, &err)) {
    summary_->setStyleSheet(QStringLiteral("color:#b00020;"));
    summary_->setText(err);
  }
}

void ConfigForm::saveClicked() {
  const QString path = QFileDialog::getSaveFileName(this, tr("Save configuration"), QStringLiteral("config.json"), tr("JSON (*.json)"));
  if (path.isEmpty()) return;
  QString err;
  if (!saveFile(path, &err)) {
    summary_->setStyleSheet(QStringLiteral("color:#b00020;"));
    summary_->setText(err);
  }
}

}  // namespace attnlab
