import { apiError } from "./api";

describe("API errors", () => {
  it("carry the API's own message and code", () => {
    const body = JSON.stringify({ error: { code: "lease_expired", message: "Your lease ran out.", details: {} } });
    const error = apiError(409, body);
    expect([error.message, error.status, error.code]).toEqual(["Your lease ran out.", 409, "lease_expired"]);
  });

  it("say something useful without one", () => {
    expect(apiError(502, "<html>Bad gateway</html>").message).toBe("The server answered 502; try again.");
    expect(apiError(0, "").code).toBe("offline");
    expect(apiError(403, "{}").message).toMatch(/may not/);
  });
});
