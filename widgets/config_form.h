// The run configuration form (Setup tab). Fields are the keys of the engine's
// DistillConfig::to_json() (config.json of a run directory), so a saved form is a valid
// `attnlab-cli distill --config` file and any run's config.json loads back into it.
// Every field validates as you type and shows the reason next to itself; an optional
// external validator (the engine's DistillConfig::validate, injected by the app) runs
// after the local checks and its message is attached to the field it names.
#pragma once
#include <QJsonObject>
#include <QJsonValue>
#include <QMap>
#include <QSet>
#include <QStringList>
#include <QWidget>
#include <functional>
#include <vector>

class QCheckBox;
class QComboBox;
class QLabel;
class QLineEdit;
class QPlainTextEdit;
class QPushButton;
class QStackedWidget;
class QTableWidget;
class QSpinBox;

namespace attnlab {

class ConfigForm : public QWidget {
  Q_OBJECT

 public:
  /// Returns "" if the JSON is acceptable, else a message naming the field.
  using Validator = std::function<QString(const QJsonObject&)>;

  explicit ConfigForm(QWidget* parent = nullptr);

  /// The configuration as JSON (all DistillConfig keys, sorted like nlohmann::json).
  QJsonObject config() const;
  /// Loads a configuration. Unknown keys are rejected (as DistillConfig::from_json does);
  /// missing keys keep their defaults. On failure the form is unchanged.
  bool setConfig(const QJsonObject& cfg, QString* error = nullptr);
  void resetToDefaults();
  static QJsonObject defaults();

  bool loadFile(const QString& path, QString* error = nullptr);
  bool saveFile(const QString& path, QString* error = nullptr) const;
  /// The text saveFile() writes: 2-space indent, sorted keys, doubles keep a ".0" — the
  /// same bytes as nlohmann::json::dump(2) of DistillConfig::to_json().
  static QByteArray toJsonText(const QJsonObject& cfg);

  /// Runs all checks; returns true when the configuration can be started.
  bool validate();
  bool isValid() const { return errors_.isEmpty(); }
  /// Field key -> message for every failing field (after validate()).
  QMap<QString, QString> errors() const { return errors_; }
  /// The message shown next to a field ("" when fine).
  QString fieldError(const QString& key) const;
  /// The editor widget of a field (QLineEdit / QComboBox ...), for tests and focus.
  QWidget* editor(const QString& key) const;
  /// Sets a field from text as if typed (line edits and editable combo boxes).
  void setFieldText(const QString& key, const QString& text);

  void setExternalValidator(Validator v);
  void setVariantKinds(const QStringList& kinds);
  QStringList variantKinds() const;
  /// Reference models offered besides "(bundled demo)" and "Browse…".
  /// Extra entries of the model / data pickers after the bundled one: `labels[i]` is shown
  /// (e.g. "gpt2 — HF cache, 523 MB"), `dirs[i]` is the value stored in the configuration.
  /// An empty `labels` shows the folders themselves.
  void setKnownModels(const QStringList& dirs, const QStringList& labels = {});
  void setKnownData(const QStringList& dirs, const QStringList& labels = {});
  /// Disables editing while a run is active.
  void setLocked(bool locked);

  /// Mask-mix candidate names as the engine spells them ("self", "local:5", "sink:4", ...).
  QStringList maskMixCandidates() const;
  void setMaskMixCandidates(const QStringList& names);

 Q_SIGNALS:
  void configChanged();
  void validityChanged(bool valid);

 private Q_SLOTS:
  void fieldEdited();
  void variantChanged();
  void browseModel();
  void browseData();
  void browseOut();
  void loadClicked();
  void saveClicked();
  void specOverrideChanged(bool on);
  void addCandidateClicked();

 private:
  enum class Kind { Int, Double, String, Choice };
  struct Field {
    QString key;
    Kind kind;
    QWidget* editor = nullptr;
    QLabel* error = nullptr;
    double min = 0, max = 0;  // numeric range (inclusive)
  };
  Field& addField(const QString& key, Kind kind, QWidget* editor, double min = 0, double max = 0);
  const Field* field(const QString& key) const;
  QString text(const Field& f) const;
  void setText(const Field& f, const QString& value);
  QString checkField(const Field& f) const;
  QJsonObject variantSpec() const;
  bool setVariantSpec(const QString& variant, const QJsonObject& spec);
  void updateSpecPreview();
  void showErrors();
  QWidget* buildVariantPages();

  std::vector<Field> fields_;
  QMap<QString, QString> errors_;
  Validator external_;
  QString externalMessage_;
  bool updating_ = false;
  bool lastValid_ = true;

  /// One variant parameter (a key of the variant's JSON spec). A key is written to the
  /// spec only when the user set it (or it was loaded) or it differs from the default, so
  /// an untouched form gives {} and the engine's defaults apply.
  struct Param {
    QString key;
    enum Type { Int, Double, Bool, Choice, Doubles } type = Int;
    QJsonValue def;         // Undefined: no default here (the engine derives it)
    double min = 0, max = 0;
    QStringList choices;
    QString tip;
    QWidget* editor = nullptr;
    QLabel* error = nullptr;
  };
  struct VariantPage {
    QString variant;
    QWidget* page = nullptr;
    std::vector<Param> params;
    QSet<QString> explicitKeys;
    bool hasCandidates = false;  // mask-mix: the candidate checklist
  };
  QWidget* buildPage(VariantPage& vp, const std::vector<Param>& params);
  VariantPage* currentPage();
  const VariantPage* currentPage() const;
  QJsonValue paramValue(const Param& p, bool* ok) const;
  QString checkParam(const Param& p) const;
  QString checkCandidates() const;
  static QString candidatesDefault();

  QComboBox* variant_ = nullptr;
  QStackedWidget* variantPages_ = nullptr;
  std::vector<VariantPage> pages_;  // known variants; others edit the spec as JSON
  int noParamsPage_ = 0;
  QTableWidget* candidates_ = nullptr;
  QLabel* candidatesError_ = nullptr;
  QComboBox* addKind_ = nullptr;
  QSpinBox* addSize_ = nullptr;
  QCheckBox* specOverride_ = nullptr;
  QPlainTextEdit* specEdit_ = nullptr;
  QLabel* specError_ = nullptr;
  QLabel* summary_ = nullptr;
  QList<QWidget*> lockable_;
};

}  // namespace attnlab
