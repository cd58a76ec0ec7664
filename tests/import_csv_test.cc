#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>

#include "client/import/csv.h"
#include "tests/testing/status_matchers.h"

namespace assay::import {
namespace {

using absl_testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

TEST(CsvTest, QuotedFieldsAndLineNumbers) {
  ASSERT_OK_AND_ASSIGN(
      auto rows, ParseCsv("a,\"b,c\"\r\n\n\"say \"\"hi\"\"\",\"multi\nline\"\nx,y\n", "t.csv"));
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_THAT(rows[0].fields, ElementsAre("a", "b,c"));
  EXPECT_EQ(rows[0].line, 1);
  EXPECT_THAT(rows[1].fields, ElementsAre("say \"hi\"", "multi\nline"));
  EXPECT_EQ(rows[1].line, 3);
  EXPECT_EQ(rows[2].line, 5);
  EXPECT_THAT(
      ParseCsv("a,\"open\n", "t.csv"),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("t.csv:1:2: unterminated quote")));
  EXPECT_THAT(ParseCsv("a,\"x\"y\n", "t.csv"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("t.csv:1:2: text after a closing quote")));
}

TEST(ResponsesCsvTest, WideWithPlusMinusOneFractionsAndMissing) {
  ASSERT_OK_AND_ASSIGN(auto m, ParseResponsesCsv(",q1,q2,q3\nm1,+1,-1,\nm2,1,0.25,NA\n", "w.csv"));
  EXPECT_EQ(m.num_models(), 2);
  EXPECT_EQ(m.num_items(), 3);
  EXPECT_EQ(m.num_observed(), 4);
  EXPECT_FALSE(m.dense());
  EXPECT_DOUBLE_EQ(m.model_successes()[0], 1.0);
  EXPECT_DOUBLE_EQ(m.model_successes()[1], 1.25);
  EXPECT_EQ(m.item_cells()[2], 0);
  EXPECT_THAT(m.item_ids(), ElementsAre("q1", "q2", "q3"));
}

// A wide file with no quote takes the line-by-line path; one quoted header field sends the same
// rows through the general CSV reader. Both must read the same matrix, and fail with the same
// message at the same line and column.
TEST(ResponsesCsvTest, PlainLinesReadAsTheGeneralReaderDoes) {
  const std::vector<std::string> bodies = {
      "m1,1,0,1\nm2,0,1,0\n",                  // 0/1 inline
      "m1,1,0,\nm2,,1, 1 \n",                  // empty cells (last one too), spaces
      "m1,0.5,+1,-1\r\n\r\nm2,true,FALSE,NA\r\n",  // CRLF, a blank line, words
      "m1,1,0,1\nm2,0,1,0",                    // no newline at the end
      "m1,1,0\n",                              // a cell short
      "m1,1,0,1,0\n",                          // a cell too many
      "m1,1,0,1,\n",                           // a trailing comma
      "m1,1,2,1\n",                            // out of range
      ",1,0,1\n",                              // no model name
      "m1,1,0,1\n\nm1,0,0,0\n",                // a repeated model, after a blank line
  };
  for (const std::string& body : bodies) {
    SCOPED_TRACE(body);
    const auto plain = ParseResponsesCsv("model,q1,q2,q3\n" + body, "w.csv");
    const auto general = ParseResponsesCsv("\"model\",q1,q2,q3\n" + body, "w.csv");
    ASSERT_EQ(plain.ok(), general.ok()) << plain.status() << " / " << general.status();
    if (!plain.ok()) {
      EXPECT_EQ(plain.status(), general.status());
      continue;
    }
    EXPECT_EQ(plain->model_ids(), general->model_ids());
    EXPECT_EQ(plain->dense(), general->dense());
    EXPECT_EQ(plain->num_observed(), general->num_observed());
    for (Eigen::Index j = 0; j < plain->num_items(); ++j) {
      const auto a = plain->column(j), b = general->column(j);
      ASSERT_EQ(a.size, b.size);
      for (Eigen::Index k = 0; k < a.size; ++k) {
        EXPECT_EQ(a.y[k], b.y[k]);
        EXPECT_EQ(a.rows == nullptr ? k : a.rows[k], b.rows == nullptr ? k : b.rows[k]);
      }
    }
  }
}

TEST(ResponsesCsvTest, WideCompleteIsDense) {
  ASSERT_OK_AND_ASSIGN(auto m, ParseResponsesCsv("model,a,b\nx,1,0\ny,0,1\n", "w.csv"));
  EXPECT_TRUE(m.dense());
  EXPECT_EQ(m.num_observed(), 4);
  EXPECT_TRUE(m.binary());
}

TEST(ResponseMatrixTest, BinaryOnlyForZeroOneCellsOfOneTrial) {
  for (const auto& [csv, binary] : std::vector<std::pair<std::string, bool>>{
           {"model,a,b\nx,1,0\ny,0,1\n", true},                         // dense
           {"model,a,b\nx,1,\ny,0,1\n", true},                          // sparse
           {"model,a,b\nx,1,0\ny,0.5,1\n", false},                      // a score, dense
           {"model,a,b\nx,1,\ny,0.999,1\n", false},                     // a score, sparse
           {"model,item,correct,n\nm1,q1,1,1\nm2,q1,1,2\n", false}}) {  // k of n
    ASSERT_OK_AND_ASSIGN(auto m, ParseResponsesCsv(csv, "b.csv"));
    EXPECT_EQ(m.binary(), binary) << csv;
  }
}

TEST(ResponsesCsvTest, LongCountsPoolRepeatedRows) {
  ASSERT_OK_AND_ASSIGN(
      auto m,
      ParseResponsesCsv("model,item,correct,n\nm1,q1,3,5\nm1,q1,1,5\nm2,q1,5,5\n", "l.csv"));
  EXPECT_EQ(m.num_observed(), 2);
  EXPECT_TRUE(m.weighted());
  EXPECT_DOUBLE_EQ(m.item_trials()[0], 15.0);
  EXPECT_NEAR(m.item_successes()[0], 9.0, 1e-5);  // proportions are stored as float
}

TEST(ResponsesCsvTest, LongScores) {
  ASSERT_OK_AND_ASSIGN(auto m,
                       ParseResponsesCsv("model,item,score\nm1,q1,0.5\nm2,q1,1\n", "s.csv"));
  EXPECT_DOUBLE_EQ(m.item_successes()[0], 1.5);
  EXPECT_FALSE(m.weighted());
}

TEST(ResponsesCsvTest, MalformedInputNamesFileLineAndColumn) {
  EXPECT_THAT(ParseResponsesCsv(",q1,q2\nm1,1,yes\n", "w.csv"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("w.csv:2:3: cell 'yes' is not a number")));
  EXPECT_THAT(
      ParseResponsesCsv(",q1,q2\nm1,1,2\n", "w.csv"),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("w.csv:2:3: cell '2' is not 1/0")));
  EXPECT_THAT(
      ParseResponsesCsv(",q1,q2\nm1,1\n", "w.csv"),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("w.csv:2:1: expected 3 fields")));
  EXPECT_THAT(
      ParseResponsesCsv(",q1,q1\nm1,1,0\n", "w.csv"),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("w.csv:1:3: duplicate item id 'q1'")));
  EXPECT_THAT(ParseResponsesCsv(",q1\nm1,1\nm1,0\n", "w.csv"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("w.csv:3:1: model 'm1' already appears on line 2")));
  EXPECT_THAT(
      ParseResponsesCsv("model,item,correct,n\nm,q,6,5\n", "l.csv"),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("l.csv:2:3: correct 6 exceeds n 5")));
  EXPECT_THAT(ParseResponsesCsv("model,item,correct\nm,q,0.5\n", "l.csv"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("l.csv:2:3: correct '0.5' must be 0/1")));
  EXPECT_THAT(
      ParseResponsesCsv("model,item,grade\nm,q,1\n", "l.csv"),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("l.csv:1:3: long layout header")));
  EXPECT_THAT(ParseResponsesCsv("", "e.csv"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("e.csv:1:1: file is empty")));
  EXPECT_THAT(ReadResponsesCsv("/nonexistent/x.csv"),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("/nonexistent/x.csv")));
}

TEST(ResponseMatrixTest, RejectsBadCells) {
  using irt::Cell;
  using irt::ResponseMatrix;
  EXPECT_THAT(ResponseMatrix::FromCells({"m"}, {"q"}, {Cell{0, 1, 1, 1}}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("out of range")));
  EXPECT_THAT(ResponseMatrix::FromCells({"m"}, {"q"}, {Cell{0, 0, 2, 1}}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("successes must be in [0, trials=1]")));
  EXPECT_THAT(ResponseMatrix::FromCells({"m"}, {"q"}, {Cell{0, 0, std::nan(""), 1}}),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(ResponseMatrix::FromCells({"m", "m"}, {"q"}, {}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("duplicate model id 'm'")));
}

}  // namespace
}  // namespace assay::import
