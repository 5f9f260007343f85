// The view of each task type, for every mode (annotating, reviewing, one's own answer).

import { boxesView } from "./boxes";
import { chatView } from "./chat";
import { classificationView } from "./classification";
import { freeTextView } from "./freetext";
import { nerView } from "./ner";
import { pairwiseView } from "./pairwise";
import { rubricView } from "./rubric";
import type { Config } from "./types";
import type { View, ViewContext } from "./view";

/** The view of the project's task type (the review mode shows the same views). */
export function viewFor(config: Config, context: ViewContext): View {
  switch (config.task_type) {
    case "classification":
      return classificationView(context as never);
    case "ner":
      return nerView(context as never);
    case "pairwise":
      return pairwiseView(context as never);
    case "rubric":
      return rubricView(context as never);
    case "free_text":
      return freeTextView(context as never);
    case "chat":
      return chatView(context as never);
    case "boxes":
      return boxesView(context as never);
  }
}
