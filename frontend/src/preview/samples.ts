// The preview's built-in sample task of each type (the workspace's task data, as an import
// would give it). Box tasks show a small image from our own static files.

import type { TaskType } from "../workspace/types";

export const SAMPLES: Record<TaskType, Record<string, unknown>> = {
  classification: { text: "The parcel came two days late, but support apologised and refunded the shipping." },
  ner: { text: "Ada Lovelace wrote to Charles Babbage from London in 1843 about the Analytical Engine." },
  boxes: {},
  pairwise: {
    prompt: "How do I keep basil fresh?",
    response_a: "Trim the stems and keep it in a glass of water on the counter, loosely covered.",
    response_b: "Put it in the freezer.",
  },
  rubric: {
    prompt: "Why is the sky blue?",
    response: "Air scatters short (blue) wavelengths of sunlight more than long ones, so blue light reaches us from every direction.",
  },
  free_text: {
    prompt: "Rewrite this reply to a customer so that it is polite.",
    response: "Read the manual. It's on page 4.",
  },
  chat: {
    messages: [
      { role: "user", content: "What is the capital of Australia?" },
      { role: "assistant", content: "Sydney." },
      { role: "user", content: "Are you sure?" },
      { role: "assistant", content: "Sorry, it is Canberra." },
    ],
  },
};
