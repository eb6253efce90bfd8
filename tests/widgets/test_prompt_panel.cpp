// PromptPanel: typing a prompt requests a generation with the chosen settings; both
// completions are shown, the first divergent token is marked, custom tokens are shaded.
#include <QtTest/QtTest>

#include "test_registry.h"
#include "widgets/prompt_panel.h"

#include <QPlainTextEdit>
#include <QPushButton>

using namespace attnlab;

class PromptPanelTest : public QObject {
  Q_OBJECT

 private Q_SLOTS:
  void typingAndGenerateEmitsRequest() {
    PromptPanel p;
    p.show();
    p.setModelReady(true);
    auto* edit = p.findChild<QPlainTextEdit*>();
    QVERIFY(edit);
    QTest::keyClicks(edit, "Once upon a time");
    GenerationSettings s;
    s.maxNewTokens = 7;
    s.greedy = false;
    s.temperature = 0.7;
    s.topK = 40;
    s.noRepeatNgram = 3;
    p.setSettings(s);
    QSignalSpy spy(&p, &PromptPanel::generateRequested);
    QTest::mouseClick(p.generateButton(), Qt::LeftButton);
    QCOMPARE(spy.count(), 1);
    QCOMPARE(spy.at(0).at(0).toString(), QStringLiteral("Once upon a time"));
    const auto got = spy.at(0).at(1).value<GenerationSettings>();
    QCOMPARE(got.maxNewTokens, 7);
    QCOMPARE(got.greedy, false);
    QCOMPARE(got.topK, 40);
    QCOMPARE(got.noRepeatNgram, 3);
    QVERIFY(p.busy());
    QVERIFY(!p.generateButton()->isEnabled());
    QVERIFY(p.cancelButton()->isEnabled());
    QCOMPARE(p.history().value(0), QStringLiteral("Once upon a time"));
    // A second click while busy does nothing.
    QTest::mouseClick(p.generateButton(), Qt::LeftButton);
    QCOMPARE(spy.count(), 1);
  }

  void showsBothCompletions() {
    PromptPanel p;
    p.setModelReady(true);
    CompletionView c;
    c.prompt = "The cat";
    c.refTokens = {" sat", " on", " the", " mat"};
    c.customTokens = {" sat", " in", " a", " hat"};
    c.customTokenKl = {0.01, 1.5, 0.2, 3.0};
    c.firstDivergence = 1;
    p.setBusy(true);
    p.showCompletion(c);
    QVERIFY(!p.busy());
    QCOMPARE(p.referenceText(), QStringLiteral("The cat sat on the mat"));
    QCOMPARE(p.customText(), QStringLiteral("The cat sat in a hat"));
    // First divergent token marked in both panes, custom tokens shaded by KL.
    const QString refHtml = PromptPanel::tokensHtml(c.prompt, c.refTokens, {}, 1);
    QVERIFY(refHtml.contains("text-decoration:underline;") && refHtml.contains("> on</span>"));
    const QString customHtml = PromptPanel::tokensHtml(c.prompt, c.customTokens, c.customTokenKl, 1);
    QCOMPARE(customHtml.count("background-color:"), 4);
    QVERIFY(customHtml.contains("> in</span>"));
    QVERIFY(p.customHtml().contains("underline"));
  }

  void identicalCompletions() {
    PromptPanel p;
    CompletionView c;
    c.prompt = "A";
    c.refTokens = c.customTokens = {" b", " c"};
    c.customTokenKl = {0.0, 0.0};
    p.showCompletion(c);
    QVERIFY(!p.customHtml().contains("underline"));
  }

  void historyIsKeptAndReused() {
    PromptPanel p;
    p.setModelReady(true);
    QSignalSpy hist(&p, &PromptPanel::historyChanged);
    for (const char* s : {"one", "two", "one"}) {
      p.setPrompt(s);
      p.requestGenerate();
      p.showError("done");
    }
    QCOMPARE(p.history(), (QStringList{"one", "two"}));
    QCOMPARE(hist.count(), 3);
  }

  void notReadyDoesNothing() {
    PromptPanel p;
    p.setModelReady(false, "no model");
    QSignalSpy spy(&p, &PromptPanel::generateRequested);
    p.setPrompt("x");
    p.requestGenerate();
    QCOMPARE(spy.count(), 0);
  }
};

ATTNLAB_TEST(PromptPanelTest, "prompt_panel")
#include "test_prompt_panel.moc"
