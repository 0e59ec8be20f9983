import { describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "../../src/config.js";

describe("loadConfig", () => {
  it("starts on embedded defaults with an empty environment", () => {
    const c = loadConfig({});
    expect(c.port).toBe(8080);
    expect(c.host).toBe("127.0.0.1");
    expect(c.databaseUrl).toBeUndefined();
    expect(c.redisUrl).toBeUndefined();
    expect(c.dataDir).toMatch(/data$/);
    expect(c.openai.baseUrl).toBe("https://api.openai.com/v1");
    expect(c.publicUrl).toBe("http://127.0.0.1:8080");
  });

  it("names every bad value in one error", () => {
    let error: unknown;
    try {
      loadConfig({
        PORT: "http",
        PUBLIC_URL: "ftp://x",
        DATABASE_URL: "mysql://db",
        REDIS_URL: "not a url",
        LOG_LEVEL: "loud",
        TWILIO_ACCOUNT_SID: "nope",
        OPENAI_BASE_URL: "ws://x",
        PATCHBAY_ADMIN_KEY: "short",
      });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const message = (error as ConfigError).message;
    for (const name of ["PORT", "PUBLIC_URL", "DATABASE_URL", "REDIS_URL", "LOG_LEVEL", "TWILIO_ACCOUNT_SID", "OPENAI_BASE_URL", "PATCHBAY_ADMIN_KEY"]) {
      expect(message).toContain(name);
    }
    expect((error as ConfigError).problems).toHaveLength(8);
  });

  it("reads provider and Twilio settings and trims trailing slashes", () => {
    const c = loadConfig({
      PUBLIC_URL: "https://voice.example.com/",
      OPENAI_API_KEY: "sk-test",
      OPENAI_BASE_URL: "http://127.0.0.1:9999/v1/",
      TWILIO_ACCOUNT_SID: "AC" + "a".repeat(32),
      TWILIO_AUTH_TOKEN: "tok",
    });
    expect(c.publicUrl).toBe("https://voice.example.com");
    expect(c.openai.baseUrl).toBe("http://127.0.0.1:9999/v1");
    expect(c.openai.apiKey).toBe("sk-test");
    expect(c.twilio.authToken).toBe("tok");
  });
});
